"""SideBySide: two views in one row, as live widgets, static HTML and aligned text columns."""

import doctest

import pytest

import ckpt_widgets as cw
from ckpt_widgets import side_by_side
from ckpt_widgets.side_by_side import SideBySide, columns_text

WIDGET = 'application/vnd.jupyter.widget-view+json'


def test_doctests():
    assert doctest.testmod(side_by_side).failed == 0


def test_columns_are_padded_and_ragged_blocks_filled():
    assert columns_text(['a\nbbb\nc', 'x']).splitlines() == ['a    |  x', 'bbb  |', 'c    |']
    assert columns_text(['', 'y']) == '  |  y'


def test_two_retained_steps_views_side_by_side(tmp_path):
    (tmp_path / 'a' / 'test_1').mkdir(parents=True)
    (tmp_path / 'b' / '2').mkdir(parents=True)
    left, right = cw.RetainedSteps(tmp_path / 'a', prefix='test_'), cw.RetainedSteps(tmp_path / 'b')
    row = SideBySide(left, right)
    bundle = row._repr_mimebundle_()
    assert set(bundle) == {WIDGET, 'text/html', 'text/plain'}
    assert bundle['text/plain'].splitlines()[0].startswith('a: ')
    assert '|  b: ' in bundle['text/plain'].splitlines()[0]
    assert left.html in bundle['text/html'] and right.html in bundle['text/html']
    assert [row.widget.children[0], row.widget.children[2]] == [left.widget, right.widget]


def test_text_follows_a_later_refresh(tmp_path):
    left, right = cw.RetainedSteps(tmp_path), cw.RetainedSteps(tmp_path)
    row = SideBySide(left, right)
    (tmp_path / '5').mkdir()
    left.refresh()
    left_column = [line.split('|')[0] for line in row.text.splitlines()]
    right_column = [line.split('|')[1] for line in row.text.splitlines()]
    assert 'kept: [5]' in ''.join(left_column) and 'kept: []' in ''.join(right_column)


def test_needs_two_views():
    with pytest.raises(ValueError):
        SideBySide(cw.compare(1, 1))


def test_parts_without_widget_or_html_are_escaped():
    row = SideBySide(cw.compare([1], [1], 'a', 'b'), cw.compare([1], [2], 'a', 'b'))
    assert '<pre>' in row.html and 'EQUAL' in row.text

"""ViewRow: one HBox of live widgets, the texts one after the other, the HTML in a row."""

import doctest

import pytest

import ckpt_widgets as cw
from ckpt_widgets import view_row as module
from ckpt_widgets.view_row import ViewRow

WIDGET = 'application/vnd.jupyter.widget-view+json'


def test_bundle_holds_the_row_widget_and_every_view_text_and_html(tmp_path):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b' / '3').mkdir(parents=True)
    left = cw.RetainedSteps(tmp_path / 'a', label='left')
    right = cw.RetainedSteps(tmp_path / 'b', label='right')
    row = ViewRow(left, right)
    bundle = row._repr_mimebundle_()
    assert set(bundle) == {WIDGET, 'text/html', 'text/plain'}
    assert bundle['text/plain'] == left.text + '\n\n' + right.text == repr(row)
    assert bundle['text/html'].count('flex:1 1 0') == 2
    assert left.html in bundle['text/html'] and right.html in bundle['text/html']
    assert list(row.widget.children) == [left.widget, right.widget]


def test_refresh_refreshes_every_view_and_display_shows_the_latest(tmp_path):
    view = cw.RetainedSteps(tmp_path)
    row = ViewRow(view)
    (tmp_path / '7').mkdir()
    assert row.refresh() is row
    assert view.kept == (7,) and '7' in row._repr_mimebundle_()['text/plain']


def test_needs_a_view():
    with pytest.raises(ValueError, match='at least one view'):
        ViewRow()


def test_doctests():
    assert doctest.testmod(module).failed == 0

"""The widget layer: mime bundles, live refresh, following a loop, the Dashboard."""

import threading
import time

import numpy as np
import orbax.checkpoint as ocp
import pytest

import ckpt_widgets as cw
from tests.helpers import TOY

WIDGET = 'application/vnd.jupyter.widget-view+json'


def test_display_emits_widget_html_and_deterministic_text(written):
    view = cw.DirectoryTree(written / 'orbax')
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {WIDGET, 'text/html', 'text/plain'}
    assert bundle['text/plain'] == view.text == repr(view)
    assert bundle['text/html'] == view.widget.value
    assert '0x' not in bundle['text/plain']


def test_refresh_updates_the_widget_in_place(tmp_path):
    view = cw.RetainedSteps(tmp_path)
    widget, before = view.widget, view.widget.value
    (tmp_path / '7').mkdir()
    assert view.refresh() is view
    assert view.widget is widget and view.widget.value != before
    assert view.kept == (7,)


def test_follow_sees_an_async_save_finish_without_manual_refresh(tmp_path):
    view = cw.RetainedSteps(tmp_path)
    seen = []
    view.widget.observe(lambda change: seen.append(change['new']), names='value')
    big = {'w': np.random.default_rng(0).random((1024, 1024))}
    with ocp.CheckpointManager(tmp_path) as mngr, view.follow(every=0.02):
        mngr.save(1, args=ocp.args.StandardSave(big))
        deadline = time.time() + 20
        while not any('step 1: kept' in html for html in seen) and time.time() < deadline:
            time.sleep(0.02)
    assert view.kept == (1,)
    assert any('step 1: kept' in html for html in seen), 'the background refresh never ran'
    assert not [t for t in threading.enumerate() if t.name.endswith('.follow')]


def test_follow_keeps_background_errors_off_the_output(tmp_path, capsys):
    view = cw.DirectoryTree(tmp_path)
    calls = []

    def failing_build():
        calls.append(1)
        raise OSError('disk vanished')

    view._build = failing_build
    try:
        with view.follow(every=0.01):
            time.sleep(0.1)
    except OSError:
        pass  # the final refresh runs in the caller's thread and may raise there
    assert calls and isinstance(view.error, OSError)
    assert capsys.readouterr() == ('', '')


def test_dashboard_restores_the_selected_step(written):
    board = cw.Dashboard(written / 'orbax')
    assert board.selector.options == (0, 2, 3, 4, 5)
    board.selector.value = 3
    assert board.selected == 3
    assert 'step 3: 6 leaves' in board.text
    assert cw.compare(TOY, board.restored.tree).equal


def test_dashboard_on_legacy_msgpack_and_on_a_damaged_step(written, tmp_path):
    board = cw.Dashboard(written / 'flax_msgpack').select(200)
    assert "['1']['foo']  str" in board.text  # msgpack brings lists back as dicts
    (tmp_path / '3').mkdir()
    broken = cw.Dashboard(tmp_path).select(3)
    assert 'step 3 cannot be restored: ValueError' in broken.text
    assert 'step 9 is not on disk' in cw.Dashboard(tmp_path).select(9).text


# --- Row: views side by side ---------------------------------------------------------------

def test_row_bundle_holds_the_widgets_the_html_and_text_columns(tmp_path):
    (tmp_path / 'a' / 'test_1').mkdir(parents=True)
    (tmp_path / 'b' / '2').mkdir(parents=True)
    left, right = cw.RetainedSteps(tmp_path / 'a', prefix='test_'), cw.RetainedSteps(tmp_path / 'b')
    row = cw.Row(left, right)
    bundle = row._repr_mimebundle_()
    assert set(bundle) == {WIDGET, 'text/html', 'text/plain'}
    first = bundle['text/plain'].splitlines()[0]
    assert first.startswith('a: ') and '|  b: ' in first
    assert left.html in bundle['text/html'] and right.html in bundle['text/html']
    assert list(row.widget.children) == [left.widget, right.widget]


def test_row_stacks_texts_too_wide_for_columns(tmp_path):
    wide = [cw.RetainedSteps(tmp_path, label='x' * 60), cw.RetainedSteps(tmp_path, label='y' * 60)]
    assert cw.Row(*wide).text == wide[0].text + '\n\n' + wide[1].text


def test_row_refresh_refreshes_every_view_and_text_follows(tmp_path):
    left, right = cw.RetainedSteps(tmp_path / 'l'), cw.RetainedSteps(tmp_path)
    row = cw.Row(left, right)
    (tmp_path / '5').mkdir()
    assert row.refresh() is row
    assert right.kept == (5,) and 'kept: [5]' in row.text


def test_row_of_plain_results_uses_their_html_and_needs_a_view():
    row = cw.Row(cw.compare([1], [1], 'a', 'b'), cw.compare([1], [2], 'a', 'b'))
    assert 'EQUAL' in row.text and 'class="ckpt-widgets comparison"' in row.html
    with pytest.raises(ValueError, match='at least one view'):
        cw.Row()

"""Displayed views stay live without follow(): one watcher, weak references, no writes."""

import gc
import shutil
import threading

import numpy as np
import orbax.checkpoint as ocp
import pytest

import ckpt_widgets as cw
from ckpt_widgets import render, watch
from tests.helpers import tree_state

PARAMS = {'w': np.arange(8.0)}


def display(view):
    """What IPython does when a cell shows the view."""
    return view._repr_mimebundle_()


def watcher_threads() -> int:
    return sum(t.name == 'ckpt_widgets.watch' for t in threading.enumerate())


@pytest.fixture(autouse=True)
def no_watch_left():
    yield
    gc.collect()
    assert watch.wait_for(lambda: not watch.running()), watch.watched()


def current(tree) -> bool:
    """The tree's widget shows what a fresh scan of its folder shows."""
    return tree.widget.value == cw.DirectoryTree(tree.path).html


def live(steps, kept, deleted=()) -> bool:
    """The steps widget shows the live timeline: `kept` and `deleted` (None: any)."""
    model = steps.live_model
    return (model is not None and model.kept == kept
            and deleted in (None, model.with_status('deleted'))
            and steps.widget.value == render.steps_html(model))


def save(directory, *steps, keep=None):
    options = ocp.CheckpointManagerOptions(max_to_keep=keep)
    with ocp.CheckpointManager(directory, options=options) as mngr:
        for step in steps:
            mngr.save(step, args=ocp.args.StandardSave(PARAMS))


def test_a_displayed_view_redraws_after_a_save_without_refresh(tmp_path):
    tree, steps = cw.DirectoryTree(tmp_path), cw.RetainedSteps(tmp_path)
    shown_text = tree.text
    display(tree), display(steps)
    save(tmp_path, 7)
    assert watch.wait_for(lambda: current(tree) and live(steps, (7,)))
    assert '7/' in tree.widget.value
    # The text is what the view showed when displayed, until code calls refresh().
    assert tree.text == shown_text and steps.model.kept == ()
    assert steps.refresh().kept == (7,)
    tree.close(), steps.close()


def test_two_views_of_one_folder_agree_after_steps_go(tmp_path):
    tree, steps = cw.DirectoryTree(tmp_path), cw.RetainedSteps(tmp_path)
    display(cw.Row(tree, steps))
    save(tmp_path, 1, 2, 3, keep=2)
    # Step 1 shows as deleted only if a redraw saw it: the saves can beat the first redraw.
    assert watch.wait_for(lambda: current(tree) and live(steps, (2, 3), deleted=None))
    assert '1/' not in tree.widget.value and steps.live_model.with_status('deleted') in ((), (1,))
    tree.close(), steps.close()


def test_live_redraws_never_change_what_refresh_reports(tmp_path):
    steps = cw.RetainedSteps(tmp_path)
    display(steps)
    save(tmp_path, 0, 1, 2, 3, keep=1)
    assert watch.wait_for(lambda: live(steps, (3,), deleted=None))
    # Only refresh() calls count for "deleted": the first one sees step 3 alone.
    assert steps.refresh().kept == (3,) and steps.deleted == ()
    steps.close()


def test_a_view_is_watched_only_once_displayed(tmp_path):
    tree = cw.DirectoryTree(tmp_path)
    assert str(tmp_path.resolve()) not in watch.watched()
    display(tree)
    display(tree)  # shown twice: still one registration
    assert watch.watched().count(str(tmp_path.resolve())) == 1
    assert watcher_threads() == 1
    tree.close()


def test_close_stops_the_watch(tmp_path):
    dashboard = cw.Dashboard(tmp_path)
    display(dashboard)
    assert watch.running() and str(tmp_path.resolve()) in watch.watched()
    dashboard.close()
    assert watch.wait_for(lambda: not watch.running())
    assert watch.watched() == [] and watcher_threads() == 0


def test_garbage_collection_stops_the_watch(tmp_path):
    tree = cw.DirectoryTree(tmp_path)
    display(tree)
    assert watcher_threads() == 1
    del tree
    gc.collect()
    assert watch.wait_for(lambda: watcher_threads() == 0)
    assert watch.watched() == []


def test_a_folder_made_after_display_is_watched_when_it_appears(tmp_path):
    folder = tmp_path / 'later'
    steps = cw.RetainedSteps(folder)
    display(steps)
    save(folder, 5)
    assert watch.wait_for(lambda: live(steps, (5,))), steps.widget.value
    shutil.rmtree(folder)  # deleted and made again: watched again
    save(folder, 6)
    assert watch.wait_for(lambda: live(steps, (6,), deleted=(5,))), steps.widget.value
    steps.close()


def test_watching_writes_nothing_and_reads_no_damaged_step_in_the_background(written, tmp_path):
    root = tmp_path / 'orbax'
    shutil.copytree(written / 'orbax', root)
    (root / 'scratch').mkdir()
    before = {p: s for p, s in tree_state(root).items() if 'scratch' not in p}
    diagnosed = []
    board = cw.Dashboard(root, diagnose=lambda path: diagnosed.append(path.name))
    tree = cw.DirectoryTree(root)
    redraws = []
    for view in (board, tree):
        view.redraw = lambda view=view: (redraws.append(view), type(view).redraw(view))
    display(board), display(tree)
    calls = len(diagnosed)
    for name in ('x', 'y', 'z'):
        seen = len(redraws)
        (root / 'scratch' / name).write_bytes(b'x')
        assert watch.wait_for(lambda seen=seen: len(redraws) >= seen + 2)  # both views redrew
    board.close(), tree.close()
    assert {p: s for p, s in tree_state(root).items() if 'scratch' not in p} == before
    assert len(diagnosed) == calls  # live redraws reuse the diagnoses refresh() made
    assert board.error is None and tree.error is None

"""async_watch: durations in the sanitized form, polling with a timeout, a directory's top."""

import re
import threading
import time

import numpy as np
import orbax.checkpoint as ocp

from ckpt_widgets.lab import async_watch as aw

# The [durations] rule of tests/nbval_sanitize.cfg: every printed time must match it.
SANITIZED_DURATION = re.compile(r'\b\d+(\.\d+)? (ms|s)\b')


def test_durations_always_have_the_form_nbval_rewrites():
    for seconds in (0.0, 0.0004, 0.0123, 0.9999, 1.0, 12.345, 3600.0):
        text = aw.format_duration(seconds)
        assert SANITIZED_DURATION.fullmatch(text), text


def test_stopwatch_measures_the_block_even_when_it_raises():
    try:
        with aw.stopwatch() as t:
            time.sleep(0.02)
            raise KeyError('x')
    except KeyError:
        pass
    assert 0.02 <= t.seconds < 2
    assert str(t).endswith(' ms')


def test_wait_until_sees_a_change_made_by_another_thread():
    flag = threading.Event()
    threading.Timer(0.05, flag.set).start()
    assert aw.wait_until(flag.is_set, timeout=5)
    start = time.monotonic()
    assert not aw.wait_until(lambda: False, timeout=0.05)
    assert time.monotonic() - start < 1


def test_top_level_names_steps_and_unfinished_saves_without_their_files(tmp_path):
    (tmp_path / '3.orbax-checkpoint-tmp' / 'default').mkdir(parents=True)
    (tmp_path / '3.orbax-checkpoint-tmp' / 'default' / 'some_file').write_text('x')
    (tmp_path / '2' / 'default').mkdir(parents=True)
    text = aw.top_level(tmp_path)
    assert text.splitlines() == [
        f'{tmp_path.name}/',
        '├── 2/  [step; items: default]',
        '└── 3.orbax-checkpoint-tmp/  [unfinished step; save not committed]',
    ]


def test_top_level_during_and_after_a_real_async_save(tmp_path):
    tree = {'w': np.random.default_rng(0).random((1024, 1024), np.float32)}
    with ocp.CheckpointManager(tmp_path) as mngr:
        mngr.save(0, args=ocp.args.StandardSave(tree))
        during = aw.top_level(tmp_path)
        mngr.wait_until_finished()
        after = aw.top_level(tmp_path)
    assert during.splitlines()[1:] in (
        ['└── 0.orbax-checkpoint-tmp/  [unfinished step; save not committed]'],
        ['└── 0/  [step; items: default]'])  # a fast disk may commit before we look
    assert after.splitlines()[1:] == ['└── 0/  [step; items: default]']


def test_top_level_of_a_missing_directory_says_so(tmp_path):
    assert aw.top_level(tmp_path / 'nope') == 'nope: does not exist'


def _saved_tree():
    return {'w': np.random.default_rng(0).random((256, 256), np.float32)}


def test_commit_gate_holds_a_manager_save_before_its_rename_until_released(tmp_path):
    # The gate relies on Orbax calling post_finalization_callback before the rename of the tmp
    # folder (orbax-checkpoint 0.12.8): if an upgrade moves the call after it, this fails.
    gate = aw.CommitGate(timeout=30)
    options = ocp.CheckpointManagerOptions(
        async_options=ocp.AsyncOptions(post_finalization_callback=gate))
    with ocp.CheckpointManager(tmp_path, options=options) as mngr:
        mngr.save(0, args=ocp.args.StandardSave(_saved_tree()))
        assert aw.wait_until(lambda: gate.held == 1)
        time.sleep(0.2)  # a held save stays held: nothing commits behind the gate's back
        assert aw.top_level(tmp_path).splitlines()[1:] == [
            '└── 0.orbax-checkpoint-tmp/  [unfinished step; save not committed]']
        assert ocp.utils.checkpoint_steps(tmp_path) == []
        gate.release()
        mngr.wait_until_finished()
    assert gate.held == 0
    assert ocp.utils.checkpoint_steps(tmp_path) == [0]


def test_commit_gate_release_in_advance_lets_the_next_commit_through_at_once(tmp_path):
    gate = aw.CommitGate(timeout=30)
    gate.release(2)
    checkpointer = ocp.AsyncCheckpointer(
        ocp.PyTreeCheckpointHandler(),
        async_options=ocp.AsyncOptions(post_finalization_callback=gate))
    for name in ('a', 'b'):
        checkpointer.save(tmp_path / name, _saved_tree())
        checkpointer.wait_until_finished()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a', 'b']
    assert gate.held == 0


def test_commit_gate_never_released_fails_the_save_instead_of_hanging(tmp_path):
    gate = aw.CommitGate(timeout=0.2)
    checkpointer = ocp.AsyncCheckpointer(
        ocp.PyTreeCheckpointHandler(),
        async_options=ocp.AsyncOptions(post_finalization_callback=gate))
    checkpointer.save(tmp_path / 'held', _saved_tree())
    try:
        checkpointer.wait_until_finished()
    except Exception as e:  # Orbax re-raises the background error, possibly wrapped
        assert 'never released' in str(e) + str(e.__cause__)
    else:
        raise AssertionError('a never-released commit must fail the save')
    assert not (tmp_path / 'held').exists()
    assert gate.held == 0

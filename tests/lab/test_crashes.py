"""A SIGKILL in the middle of an async save: what is on disk, what survives."""

import logging
import os
import pathlib
import shutil
import signal

import numpy as np
import orbax.checkpoint as ocp
import pytest

from ckpt_widgets.lab.failures import crashes
from ckpt_widgets.lab.failures.crash_child import expected_tree

logging.getLogger('absl').setLevel(logging.ERROR)

SIZE = 1 << 20


@pytest.fixture(scope='module')
def crashed_dir(tmp_path_factory):
    """One deterministic crash (kill while step 2 commits), shared read-only."""
    directory = tmp_path_factory.mktemp('crash') / 'ckpt'
    report = crashes.crash_during_save(directory, kill_step=2, size=SIZE)
    return directory, report


@pytest.fixture
def crashed_copy(crashed_dir, tmp_path):
    """A private copy of the crashed directory for tests that change it."""
    directory = tmp_path / 'ckpt'
    shutil.copytree(crashed_dir[0], directory)
    return directory


def _names(directory: pathlib.Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_kill_after_save_returned_keeps_earlier_steps_bit_exact(crashed_dir):
    directory, r = crashed_dir
    assert r.child_returncode == -signal.SIGKILL
    assert r.saved_steps == (0, 1, 2)
    assert r.committed_steps == (0, 1)
    assert r.finalized_steps == (0, 1)
    assert r.latest_step == 1
    assert r.verified_steps == (0, 1)
    assert r.lost_steps == ()
    assert r.corrupted_steps == {}
    assert r.nothing_lost
    assert r.text == (
        'killed after save(2) returned: 2 finished steps verified, 0 lost,'
        ' 0 corrupted; unfinished: 2.orbax-checkpoint-tmp'
    )


def test_unfinished_step_is_a_tmp_dir_without_commit_marker(crashed_dir):
    directory, r = crashed_dir
    assert _names(directory) == ['0', '1', '2.orbax-checkpoint-tmp']
    assert r.tmp_dirs_after_kill == ('2.orbax-checkpoint-tmp',)
    # A background thread makes the step dir; on a quiet machine it is there by the time save()
    # returns, on a loaded one it can come a moment later (seen on 2 busy cores). Either way it
    # is there before the commit, which the frozen photograph below shows.
    assert set(r.tmp_present_when_save_returned) == {0, 1, 2}
    frozen = r.entries_at_kill
    assert frozen['0'] == ('_CHECKPOINT_METADATA', 'commit_success.txt', 'default')
    assert '_CHECKPOINT_METADATA' in frozen['2.orbax-checkpoint-tmp']
    assert 'commit_success.txt' not in frozen['2.orbax-checkpoint-tmp']
    tmp = directory / '2.orbax-checkpoint-tmp'
    assert ocp.utils.is_tmp_checkpoint(tmp)
    assert not ocp.utils.is_checkpoint_finalized(tmp)
    assert ocp.utils.is_checkpoint_finalized(directory / '1')


def test_manager_ignores_the_unfinished_step(crashed_dir):
    directory, _ = crashed_dir
    with ocp.CheckpointManager(directory) as mgr:
        assert mgr.all_steps() == [0, 1]
        assert mgr.latest_step() == 1
        with pytest.raises(FileNotFoundError, match=r'Checkpoint at .*/2 not found'):
            mgr.restore(2)
    with ocp.CheckpointManager(directory) as mgr:
        # With args the same missing step gives a misleading message.
        with pytest.raises(ValueError, match='Must provide `args` of type `Composite`'):
            mgr.restore(2, args=ocp.args.StandardRestore(expected_tree(2, SIZE)))


def test_child_process_is_gone(crashed_dir):
    # Reaped by crash_during_save: waitpid finds no child of ours left.
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_default_manager_never_removes_the_tmp_dir(crashed_copy):
    mgr = ocp.CheckpointManager(crashed_copy)
    mgr.save(10, args=ocp.args.StandardSave(expected_tree(10, 8)))
    mgr.wait_until_finished()
    mgr.close()
    assert _names(crashed_copy) == ['0', '1', '10', '2.orbax-checkpoint-tmp']


def test_saving_the_same_step_again_replaces_the_tmp_dir(crashed_copy):
    with ocp.CheckpointManager(crashed_copy) as mgr:
        mgr.save(2, args=ocp.args.StandardSave(expected_tree(2, 8)))
        mgr.wait_until_finished()
        assert mgr.all_steps() == [0, 1, 2]
    assert _names(crashed_copy) == ['0', '1', '2']


def test_cleanup_option_removes_tmp_dirs_before_next_save(crashed_copy):
    mgr = ocp.CheckpointManager(
        crashed_copy,
        options=ocp.CheckpointManagerOptions(cleanup_tmp_directories=True),
    )
    try:
        # save() waits for the cleanup the constructor started in the background.
        mgr.save(5, args=ocp.args.StandardSave(expected_tree(5, 8)))
        assert '2.orbax-checkpoint-tmp' not in _names(crashed_copy)
        mgr.wait_until_finished()
    finally:
        mgr.close()
    assert _names(crashed_copy) == ['0', '1', '5']


def test_clean_unfinished_steps_returns_what_it_removed(crashed_copy):
    assert crashes.clean_unfinished_steps(crashed_copy) == (
        '2.orbax-checkpoint-tmp',
    )
    assert _names(crashed_copy) == ['0', '1']
    finalized, verified, corrupted = crashes.verify_steps(crashed_copy, SIZE)
    assert (finalized, verified, corrupted) == ((0, 1), (0, 1), {})
    assert crashes.clean_unfinished_steps(crashed_copy) == ()


def test_verify_steps_flags_changed_values(crashed_copy):
    # A finalized step holding other values than the child's must be reported.
    shutil.rmtree(crashed_copy / '1')
    with ocp.CheckpointManager(crashed_copy) as mgr:
        tree = expected_tree(1, SIZE)
        tree['params']['w'] = tree['params']['w'] + np.float32(1)
        mgr.save(1, args=ocp.args.StandardSave(tree))
    assert crashes.verify_steps(crashed_copy, SIZE) == (
        (0, 1), (0,), {1: 'restored values differ from what was saved'}
    )


def test_crash_after_delay_loses_nothing(tmp_path):
    r = crashes.crash_after_delay(tmp_path / 'ckpt', delay_s=0.3)
    assert r.child_returncode == -signal.SIGKILL
    assert r.committed_steps, 'the child committed nothing in 0.3 s'
    assert set(r.committed_steps) <= set(r.finalized_steps)
    assert r.verified_steps == r.finalized_steps
    assert r.nothing_lost
    # At most the one in-flight step is unfinished.
    assert len(r.tmp_dirs_after_kill) <= 1


def test_refuses_relative_path():
    with pytest.raises(ValueError, match="directory must be absolute, got 'ckpt'"):
        crashes.crash_during_save('ckpt')


def test_refuses_non_empty_directory_and_leaves_it_alone(tmp_path):
    (tmp_path / 'precious.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='directory is not empty'):
        crashes.crash_during_save(tmp_path)
    assert _names(tmp_path) == ['precious.txt']
    assert (tmp_path / 'precious.txt').read_text() == 'keep me'

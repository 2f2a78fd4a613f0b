"""A failed StandardSave can hang interpreter exit; the repro runs in children under a timeout."""

import os

import pytest

from ckpt_widgets.lab.failures import exit_hang

STR_ERROR = "save failed: Unsupported type: <class 'str'> for key: ('name',)."
HANG_STDERR = 'RuntimeError: cannot schedule new futures after'


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    # Slow storage makes the race certain; all modes run at once (~one timeout).
    directory = tmp_path_factory.mktemp('exit')
    return {r.mode: r for r in exit_hang.run_all_modes(
        directory, exit_timeout_s=5, slow_storage_s=0.5)}


def test_failed_standard_save_hangs_exit(runs):
    r = runs['failed_standard_save']
    assert (r.hung_at_exit, r.returncode) == (True, None)
    assert r.exit_wait_s >= 5
    assert r.stdout == STR_ERROR
    assert HANG_STDERR in r.stderr_tail
    assert r.entries == ()  # the slow mkdir never ran
    assert r.text == ('failed_standard_save: HUNG at exit, killed after 5 s;'
                        ' on disk: nothing')


def test_closing_the_manager_after_the_failure_does_not_help(runs):
    r = runs['failed_save_then_close']
    assert (r.hung_at_exit, r.stdout) == (True, STR_ERROR)


def test_sync_directory_creation_fails_the_save_and_exits(runs):
    r = runs['sync_directory_creation']
    assert (r.hung_at_exit, r.returncode, r.stdout) == (False, 0, STR_ERROR)
    assert r.entries == ('0.orbax-checkpoint-tmp',)  # cleanup is still yours
    assert HANG_STDERR not in r.stderr_tail


def test_pytree_save_in_with_block_saves_and_exits(runs):
    r = runs['pytree_save']
    assert (r.hung_at_exit, r.returncode, r.stdout) == (False, 0, 'saved')
    assert (r.entries, r.finished) == (('0',), True)


def test_unwaited_async_save_is_never_committed(runs):
    r = runs['unwaited_save']
    assert (r.hung_at_exit, r.stdout, r.finished) == (True, 'save() returned', False)


def test_no_child_left(runs):
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="unknown mode 'nope'"):
        exit_hang.run_exit_repro(tmp_path, 'nope')
    with pytest.raises(ValueError, match='directory must be absolute'):
        exit_hang.run_exit_repro('rel', 'pytree_save')
    with pytest.raises(ValueError, match='slow_storage_s must be >= 0'):
        exit_hang.run_exit_repro(tmp_path, 'pytree_save', slow_storage_s=-1)
    (tmp_path / 'keep.txt').write_text('x')
    with pytest.raises(FileExistsError, match='directory is not empty'):
        exit_hang.run_exit_repro(tmp_path, 'pytree_save')
    assert os.listdir(tmp_path) == ['keep.txt']


def test_standard_save_after_pytree_restore_in_one_manager_times_out_at_exit(tmp_path):
    """Notebook 06's resume trap: the save fails, exit waits for a signal until Orbax's timeout
    (300 s, shortened to 2 s here) raises the TimeoutError a user reported."""
    r = exit_hang.run_exit_repro(tmp_path / 'resume', 'standard_save_after_pytree_restore',
                                 exit_timeout_s=60, slow_storage_s=0.5, signal_timeout_s=2)
    assert r.stdout == ('save failed: Item "default" and args "StandardSaveArgs(...)" does not'
                        ' match with any registered handler!')
    assert "TimeoutError: Timeout waiting for key 'awaitable_signals_contract_" in r.stderr_tail
    assert (r.hung_at_exit, r.returncode) == (False, 0) and r.exit_wait_s >= 2
    assert r.entries == ('4',)  # the converted-like step; step 5 was never created

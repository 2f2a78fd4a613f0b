"""A failed StandardSave can hang interpreter exit; the repro runs in a child under a timeout."""

import os

import pytest

from ckpt_widgets import exit_hang

STR_ERROR = "save failed: Unsupported type: <class 'str'> for key: ('name',)."


def test_failed_standard_save_hangs_exit(tmp_path):
  # A race (3 of 4 runs hung when measured): up to 4 tries of 8 s.
  run, tries = exit_hang.first_hang(tmp_path, attempts=4, timeout_s=8)
  assert run.hung_at_exit, (tries, run)
  assert run.returncode is None
  assert run.stdout == f'{STR_ERROR}\nend of script'
  assert run.entries == ('0.orbax-checkpoint-tmp',)
  with pytest.raises(ChildProcessError):  # the hung child was killed and reaped
    os.waitpid(-1, os.WNOHANG)


def test_sync_directory_creation_exits_cleanly(tmp_path):
  run = exit_hang.run_exit_repro(tmp_path / 'c', 'sync_directory_creation', 30)
  assert (run.hung, run.returncode) == (False, 0)
  assert run.stdout == f'{STR_ERROR}\nend of script'
  assert run.entries == ('0.orbax-checkpoint-tmp',)  # cleanup is still yours


def test_pytree_save_in_with_block_saves_and_exits(tmp_path):
  run = exit_hang.run_exit_repro(tmp_path / 'c', 'pytree_save', 30)
  assert (run.hung, run.returncode, run.finished) == (False, 0, True)
  assert run.entries == ('0',)


def test_unwaited_async_save_is_never_committed(tmp_path):
  # Hangs or not (2 of 4 hung), the step is never finalized without a wait.
  run = exit_hang.run_exit_repro(tmp_path / 'c', 'unwaited_save', 6)
  assert run.stdout == 'save() returned\nend of script'
  assert run.entries == ('0.orbax-checkpoint-tmp',)
  assert not run.finished


def test_bad_input(tmp_path):
  with pytest.raises(ValueError, match="unknown mode 'nope'"):
    exit_hang.run_exit_repro(tmp_path, 'nope')
  with pytest.raises(ValueError, match='directory must be absolute'):
    exit_hang.run_exit_repro('rel', 'pytree_save')
  (tmp_path / 'keep.txt').write_text('x')
  with pytest.raises(FileExistsError, match='directory is not empty'):
    exit_hang.run_exit_repro(tmp_path, 'pytree_save')
  assert os.listdir(tmp_path) == ['keep.txt']

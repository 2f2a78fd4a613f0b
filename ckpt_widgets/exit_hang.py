"""The interpreter that never exits after a failed save, run safely in a child.

``CheckpointManager.save(step, args=ocp.args.StandardSave(tree))`` with a
``str`` leaf raises ``ValueError: Unsupported type: <class 'str'> for key:
('name',).`` at once, but it has already started a non-daemon orbax thread
that waits for a "directory created" signal that never comes (faulthandler
shows it in ``signaling_client.blocking_key_value_get``); interpreter exit
then blocks on it (the wait's timeout in orbax's code is 300 s). The hang is
a race: measured in about half of the runs, not all. ``mgr.close()``,
``with`` and ``wait_until_finished()`` after the failure do NOT reliably help;
what does is ``AsyncOptions(create_directories_asynchronously=False)``, or
not failing at all (``PyTreeSave`` accepts ``str``).

The same child shows a quieter loss: a successful async save with no
``wait_until_finished()``/``close()`` before the script ends is never
committed; only ``0.orbax-checkpoint-tmp`` is left.

Example::

    >>> r = run_exit_repro('/tmp/hang_demo', 'sync_directory_creation')
    >>> (r.hung, r.returncode, r.entries)
    (False, 0, ('0.orbax-checkpoint-tmp',))
"""

from __future__ import annotations

import dataclasses
import os
import re
import pathlib
import subprocess
import sys
import time

# One script, one mode per run: what a user's training script would do.
_CHILD = r'''
import logging, sys
logging.getLogger('absl').setLevel(logging.ERROR)
import numpy as np
import orbax.checkpoint as ocp
directory, mode = sys.argv[1], sys.argv[2]
tree = {'w': np.ones(3, np.float32), 'name': 'hello'}
if mode == 'failed_standard_save':
  mgr = ocp.CheckpointManager(directory)
  try:
    mgr.save(0, args=ocp.args.StandardSave(tree))
  except ValueError as e:
    print('save failed:', e, flush=True)
elif mode == 'failed_save_then_close':
  mgr = ocp.CheckpointManager(directory)
  try:
    mgr.save(0, args=ocp.args.StandardSave(tree))
  except ValueError as e:
    print('save failed:', e, flush=True)
  finally:
    mgr.close()
elif mode == 'sync_directory_creation':
  options = ocp.CheckpointManagerOptions(
      async_options=ocp.AsyncOptions(create_directories_asynchronously=False))
  mgr = ocp.CheckpointManager(directory, options=options)
  try:
    mgr.save(0, args=ocp.args.StandardSave(tree))
  except ValueError as e:
    print('save failed:', e, flush=True)
elif mode == 'pytree_save':
  with ocp.CheckpointManager(directory) as mgr:
    mgr.save(0, args=ocp.args.PyTreeSave(tree))
  print('saved', flush=True)
elif mode == 'unwaited_save':
  mgr = ocp.CheckpointManager(directory)
  mgr.save(0, args=ocp.args.StandardSave({'w': tree['w']}))
  print('save() returned', flush=True)
print('end of script', flush=True)  # past this line only exit can hang
'''

_ABSL_LINE = re.compile(r'^[IWEF]\d{4} ')

MODES = (
    'failed_standard_save',
    'failed_save_then_close',
    'sync_directory_creation',
    'pytree_save',
    'unwaited_save',
)


@dataclasses.dataclass(frozen=True)
class ExitRun:
  """One run of the repro child: did it exit, and what did it leave on disk.

  Example::

      >>> ExitRun('pytree_save', False, 2.1, 0, 'saved\nend of script', '',
      ...         ('0',)).finished
      True
  """

  mode: str
  hung: bool  # still alive at the timeout, then killed
  elapsed_s: float
  returncode: int | None  # None when it hung
  stdout: str
  stderr_tail: str
  entries: tuple[str, ...]  # names in the checkpoint dir afterwards

  @property
  def hung_at_exit(self) -> bool:
    """True when the script's last line ran and the process still hung."""
    return self.hung and self.stdout.endswith('end of script')

  @property
  def finished(self) -> bool:
    """True when step 0 was committed (``0`` is on disk, not only a tmp dir)."""
    return '0' in self.entries


def run_exit_repro(
    directory: str | os.PathLike, mode: str, timeout_s: float = 20.0
) -> ExitRun:
  """Runs one repro mode in a child, kills it after ``timeout_s``; never hangs.

  ``directory`` must be absolute and empty or missing. ``mode`` is one of
  :data:`MODES`.

  Example::

      >>> run_exit_repro('/tmp/hang_demo2', 'pytree_save').finished
      True
  """
  if mode not in MODES:
    raise ValueError(f'unknown mode {mode!r}; choose one of {MODES}')
  directory = pathlib.Path(directory)
  if not directory.is_absolute():
    raise ValueError(f'directory must be absolute, got {str(directory)!r}')
  if directory.exists() and any(directory.iterdir()):
    raise FileExistsError(f'directory is not empty: {directory}')
  env = dict(os.environ)
  env.setdefault('JAX_PLATFORMS', 'cpu')
  t0 = time.perf_counter()
  proc = subprocess.Popen(
      [sys.executable, '-c', _CHILD, str(directory), mode],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
  )
  try:
    out, err = proc.communicate(timeout=timeout_s)
    hung, code = False, proc.returncode
  except subprocess.TimeoutExpired:
    proc.kill()
    out, err = proc.communicate()
    hung, code = True, None
  elapsed = time.perf_counter() - t0
  # absl's C++ start-up lines (W..., I...) are noise, keep the Python tail.
  tail = [l for l in err.splitlines() if not _ABSL_LINE.match(l)]
  entries = tuple(sorted(os.listdir(directory))) if directory.is_dir() else ()
  return ExitRun(mode, hung, elapsed, code, out.strip(), '\n'.join(tail[-6:]),
                 entries)


def first_hang(
    directory: str | os.PathLike,
    mode: str = 'failed_standard_save',
    attempts: int = 6,
    timeout_s: float = 20.0,
) -> tuple[ExitRun, int]:
  """Repeats a racy mode until it hangs; returns (that run or the last, runs).

  Each attempt uses a fresh subfolder ``run<i>`` of ``directory``.

  Example::

      >>> run, tries = first_hang('/tmp/hang_demo3', timeout_s=10)
      >>> run.hung_at_exit
      True
  """
  directory = pathlib.Path(directory)
  run = None
  for i in range(attempts):
    run = run_exit_repro(directory / f'run{i}', mode, timeout_s)
    if run.hung_at_exit:
      return run, i + 1
  return run, attempts

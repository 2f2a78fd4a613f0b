"""The interpreter that never exits after a failed save, run safely in a child.

``CheckpointManager.save(step, args=ocp.args.StandardSave(tree))`` with a
``str`` leaf raises ``ValueError: Unsupported type: <class 'str'> for key:
('name',).`` at once, but it has already started a non-daemon orbax thread
that waits for a "directory created" signal that never comes (faulthandler
shows it in ``signaling_client.blocking_key_value_get``); interpreter exit
then blocks on it (the wait's timeout in orbax's code is 300 s). It is a
race: the background directory creation dies with "cannot schedule new
futures after interpreter shutdown" if the script ends first, and the thread
waiting for its signal never returns. Measured: 3 of 4 runs hung on a busy
machine, 0 of 4 on an idle one, 3 of 3 with 0.5 s slow storage (see
``slow_storage_s``). ``mgr.close()``, ``with`` and ``wait_until_finished()``
after the failure do NOT help; what does is
``AsyncOptions(create_directories_asynchronously=False)``, or not failing at
all (``PyTreeSave`` accepts ``str``).

The same child shows a quieter loss: a successful async save with no
``wait_until_finished()``/``close()`` before the script ends is never
committed; only ``0.orbax-checkpoint-tmp`` is left.

Example::

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     r = run_exit_repro(tmp, 'sync_directory_creation')
    >>> (r.hung_at_exit, r.returncode, r.entries)
    (False, 0, ('0.orbax-checkpoint-tmp',))
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import sys
import threading
import time

from ckpt_widgets.lab.child import Child, absolute_dir
from ckpt_widgets.shown import Shown

# One script, one mode per run: what a user's training script would do.
_CHILD = r'''
import logging, sys
logging.getLogger('absl').setLevel(logging.ERROR)
import numpy as np
import orbax.checkpoint as ocp
directory, mode, slow_storage_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
signal_timeout_s = int(sys.argv[4])
if signal_timeout_s:
  # Orbax waits this long (300 s) for the "directory created" signal before TimeoutError.
  from orbax.checkpoint._src.multihost import multihost
  multihost._DEFAULT_BARRIER_TIMEOUT = signal_timeout_s
if slow_storage_s:
  # Slow storage (NFS, a fuse mount): every directory creation takes longer,
  # so the background creation is still running when the script ends.
  import asyncio
  from ckpt_widgets.upstream import orbax_async_path
  async_path = orbax_async_path()
  _mkdir = async_path.mkdir
  async def _slow_mkdir(*args, **kwargs):
    await asyncio.sleep(slow_storage_s)
    return await _mkdir(*args, **kwargs)
  async_path.mkdir = _slow_mkdir
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
elif mode == 'standard_save_after_pytree_restore':
  # Resuming into a converted folder (notebook 06): the step holds a state dict written with
  # PyTreeSave; a fresh manager restores it with PyTreeRestore, which ties its 'default' item
  # to the PyTree handler, so StandardSave in the same `with` fails, after the background
  # directory creation has started.
  state = {'w': np.ones(3, np.float32)}
  options = ocp.CheckpointManagerOptions(enable_async_checkpointing=False)
  with ocp.CheckpointManager(directory, options=options) as mgr:
    mgr.save(4, args=ocp.args.PyTreeSave(state))
  try:
    with ocp.CheckpointManager(directory) as mgr:
      state = mgr.restore(4, args=ocp.args.PyTreeRestore(item=state))
      mgr.save(5, args=ocp.args.StandardSave(state))
  except ValueError as e:
    import re  # the message repeats the whole state and the handlers' addresses
    print('save failed:', re.sub(r'args ".*" does', 'args "StandardSaveArgs(...)" does',
                                 str(e).split(' Registered handlers')[0]), flush=True)
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
# Run on their own (not by run_all_modes): notebook 06's resume into a converted folder.
OTHER_MODES = ('standard_save_after_pytree_restore',)


@dataclasses.dataclass(frozen=True, repr=False)
class ExitRun(Shown):
    """One run of the repro child: did it exit, and what did it leave on disk.

    ``exit_wait_s`` is the time from the script's last line to the process
    being gone (or killed), so machine load during imports does not count.

    Example::

        >>> ExitRun('pytree_save', False, 0.2, 0, 'saved', '', ('0',)).finished
        True
    """

    mode: str
    hung_at_exit: bool  # the last line ran, exit did not finish in time: killed
    exit_wait_s: float | None  # None when the script never reached its end
    returncode: int | None  # None when it was killed
    stdout: str  # without the end-of-script marker
    stderr_tail: str
    entries: tuple[str, ...]  # names in the checkpoint dir afterwards

    @property
    def finished(self) -> bool:
        """True when step 0 was committed (``0`` is on disk, not only a tmp dir)."""
        return '0' in self.entries

    @property
    def text(self) -> str:
        """One line for a notebook table."""
        if self.hung_at_exit:
            outcome = f'HUNG at exit, killed after {self.exit_wait_s:.0f} s'
        elif self.exit_wait_s is None:
            outcome = f'never reached the end (code {self.returncode})'
        else:
            outcome = f'exited in {self.exit_wait_s:.1f} s (code {self.returncode})'
        return (f'{self.mode}: {outcome}; on disk: '
                f'{", ".join(self.entries) or "nothing"}')


_END = 'end of script'


def run_exit_repro(
    directory: str | os.PathLike,
    mode: str,
    exit_timeout_s: float = 20.0,
    slow_storage_s: float = 0.0,
    start_timeout_s: float = 180.0,
    signal_timeout_s: int = 0,
) -> ExitRun:
    """Runs one repro mode in a child and kills it if exit hangs; never hangs itself.

    ``directory`` must be absolute and empty or missing. ``mode`` is one of
    :data:`MODES`. The child gets ``start_timeout_s`` to reach its last line
    (imports are slow on a busy machine), then ``exit_timeout_s`` to exit.
    ``slow_storage_s`` delays every orbax directory creation in the child:
    with 0.5 the racy hang happens every time (3 of 3 measured). ``signal_timeout_s`` > 0
    shortens Orbax's 300 s wait for the directory signal in the child, so the ``TimeoutError``
    it ends with shows up in ``stderr_tail`` within a notebook's patience.

    Example::

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     run_exit_repro(tmp, 'pytree_save')
        pytree_save: exited in ... s (code 0); on disk: 0
    """
    if mode not in MODES + OTHER_MODES:
        raise ValueError(f'unknown mode {mode!r}; choose one of {MODES + OTHER_MODES}')
    if slow_storage_s < 0:
        raise ValueError(f'slow_storage_s must be >= 0, got {slow_storage_s}')
    directory = absolute_dir(directory)
    env = dict(os.environ)
    env.setdefault('JAX_PLATFORMS', 'cpu')
    out_lines, err_lines = [], []
    reached_end = threading.Event()
    ended_at = []

    def read_stdout(line):
        if line is None:
            return
        if line.strip() == _END:
            ended_at.append(time.perf_counter())
            reached_end.set()
        else:
            out_lines.append(line.rstrip('\n'))

    def read_stderr(line):
        if line is not None and not _ABSL_LINE.match(line):
            err_lines.append(line.rstrip('\n'))
            del err_lines[:-6]

    hung = False
    with Child(
        [sys.executable, '-c', _CHILD, str(directory), mode,
         str(slow_storage_s), str(int(signal_timeout_s))],
        env=env, on_stdout=read_stdout, on_stderr=read_stderr,
    ) as child:
        deadline = time.monotonic() + start_timeout_s
        while not reached_end.wait(0.05):
            if child.returncode is not None or time.monotonic() > deadline:
                break
        if reached_end.is_set():
            hung = child.wait(exit_timeout_s) is None
    returncode = child.returncode
    exit_wait = (time.perf_counter() - ended_at[0]) if ended_at else None
    entries = tuple(sorted(os.listdir(directory))) if directory.is_dir() else ()
    return ExitRun(mode, hung, exit_wait, None if hung else returncode,
                   '\n'.join(out_lines), '\n'.join(err_lines), entries)


def run_all_modes(
    directory: str | os.PathLike,
    modes: tuple[str, ...] = MODES,
    exit_timeout_s: float = 20.0,
    slow_storage_s: float = 0.0,
) -> list[ExitRun]:
    """Runs several modes at once (a hang costs waiting, not CPU); one subfolder each.

    Wall time is about one ``exit_timeout_s`` instead of one per hanging mode.

    Example::

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     runs = run_all_modes(tmp, exit_timeout_s=5, slow_storage_s=0.5)
        >>> [r.hung_at_exit for r in runs]
        [True, True, False, False, True]
    """
    from concurrent import futures  # pylint: disable=g-import-not-at-top

    directory = pathlib.Path(directory)
    with futures.ThreadPoolExecutor(max_workers=len(modes)) as pool:
        jobs = [
            pool.submit(run_exit_repro, directory / mode, mode, exit_timeout_s,
                        slow_storage_s)
            for mode in modes
        ]
        return [job.result() for job in jobs]

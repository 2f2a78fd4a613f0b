"""Kill a training process in the middle of an async save and count what survives.

Two ways to crash the child in :mod:`ckpt_widgets.lab.failures.crash_child`:

* :func:`crash_during_save`: deterministic. The child freezes itself (SIGSTOP)
  right after ``save(k)`` returned, we photograph the directory, then SIGKILL.
* :func:`crash_after_delay`: the child saves step after step and is killed
  ``delay_s`` after its first save returned, wherever it happens to be.

Both return a :class:`CrashReport` of plain data a notebook can print. Measured
on orbax-checkpoint 0.12.8 (see ``tests/lab/test_crashes.py``):

* the unfinished step is ``<step>.orbax-checkpoint-tmp`` (no timestamp) with a
  ``_CHECKPOINT_METADATA`` and a ``default.orbax-checkpoint-tmp`` inside and no
  ``commit_success.txt``; it is created by a background thread, usually before
  ``save()`` returns (on a loaded machine sometimes a moment after, never after the commit);
* ``latest_step()`` / ``all_steps()`` ignore it; earlier steps restore bit-exact;
* a default ``CheckpointManager`` never removes it (not at construction, not
  when saving other steps, not at ``close()``); saving the *same* step again
  replaces it; ``cleanup_tmp_directories=True`` removes every one in a
  background thread started by the constructor, which ``save()`` waits for
  but ``close()`` and ``wait_until_finished()`` do not.

Example::

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     report = crash_during_save(tmp, kill_step=2, size=1 << 10)
    >>> report
    killed after save(2) returned: 2 finished steps verified, 0 lost, 0 corrupted; unfinished: 2.orbax-checkpoint-tmp
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import queue
import sys
import time
import warnings

from ckpt_widgets.lab.child import Child, absolute_dir
from ckpt_widgets.lab.failures import crash_child
from ckpt_widgets.pytrees import trees_equal
from ckpt_widgets.shown import Shown

TMP_SUFFIX = crash_child.TMP_SUFFIX
# Big enough that the background commit of one step outlasts the few
# microseconds between save() returning and the SIGSTOP.
DEFAULT_SIZE = 1 << 20


@dataclasses.dataclass(frozen=True, repr=False)
class CrashReport(Shown):
    """What a SIGKILL during training left behind, as plain data.

    Example::

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     r = crash_during_save(tmp, kill_step=1, size=1 << 10)
        >>> (r.finalized_steps, r.tmp_dirs_after_kill, r.lost_steps)
        ((0,), ('1.orbax-checkpoint-tmp',), ())
    """

    directory: str
    kill_point: str
    child_returncode: int | None
    saved_steps: tuple[int, ...]  # save() returned in the child
    committed_steps: tuple[int, ...]  # wait_until_finished() returned
    tmp_present_when_save_returned: dict[int, bool]
    entries_at_kill: dict[str, tuple[str, ...]]  # top-level name -> children
    tmp_dirs_after_kill: tuple[str, ...]
    finalized_steps: tuple[int, ...]  # a fresh manager's all_steps()
    latest_step: int | None
    verified_steps: tuple[int, ...]  # restored bit-exact
    lost_steps: tuple[int, ...]  # committed, yet not restorable from disk
    corrupted_steps: dict[int, str]  # step -> why it does not match
    elapsed_s: float

    @property
    def nothing_lost(self) -> bool:
        """True when every committed step is on disk and restores bit-exact."""
        return not self.lost_steps and not self.corrupted_steps

    @property
    def text(self) -> str:
        """One line for a notebook or a test log."""
        unfinished = ', '.join(self.tmp_dirs_after_kill) or 'none'
        return (
            f'{self.kill_point}: {len(self.verified_steps)} finished steps'
            f' verified, {len(self.lost_steps)} lost,'
            f' {len(self.corrupted_steps)} corrupted; unfinished: {unfinished}'
        )


class _Child:
    """The child process plus a reader that turns its stdout into events."""

    def __init__(self, directory: pathlib.Path, child_args: list[str]):
        env = dict(os.environ)
        env.setdefault('JAX_PLATFORMS', 'cpu')
        self.events: queue.Queue[str | None] = queue.Queue()
        self.lines: list[str] = []
        self._stderr: list[str] = []
        # -P: do not put ckpt_widgets/ on sys.path, its module names could
        # shadow real packages in the child.
        self.child = Child(
            [sys.executable, '-P', crash_child.__file__,
             '--directory', str(directory), *child_args],
            env=env, on_stdout=self._read_stdout, on_stderr=self._read_stderr,
        )
        self.proc = self.child.proc

    def _read_stdout(self, line: str | None) -> None:
        if line is None:  # EOF
            self.events.put(None)
            return
        self.lines.append(line.strip())
        self.events.put(line.strip())

    def _read_stderr(self, line: str | None) -> None:
        if line is None:
            return
        self._stderr.append(line)
        del self._stderr[:-20]  # keep a tail for error messages only

    def wait_for(self, prefix: str, timeout_s: float) -> str:
        """Returns the first new stdout line starting with ``prefix``."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.events.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise TimeoutError(
                    f'crash child printed no {prefix!r} within {timeout_s} s'
                ) from None
            if line is None:
                raise RuntimeError(
                    f'crash child exited (code {self.proc.wait()}) before'
                    f' {prefix!r}; stderr tail:\n{"".join(self._stderr)}'
                )
            if line.startswith(prefix):
                return line

    def kill(self) -> int:
        """SIGKILLs the child's group, reaps it and drains its output; returns the code."""
        return self.child.kill()

    def steps(self, event: str) -> tuple[int, ...]:
        return tuple(int(line.split()[1]) for line in self.lines if line.startswith(event))

    def tmp_flags(self) -> dict[int, bool]:
        return {
            int(line.split()[1]): line.split()[2] == '1'
            for line in self.lines if line.startswith('SAVE_RETURNED')
        }


def _listing(directory: pathlib.Path) -> dict[str, tuple[str, ...]]:
    """Top-level names with their children; never file sizes (they vary)."""
    if not directory.is_dir():
        return {}
    return {
        p.name: tuple(sorted(c.name for c in p.iterdir())) if p.is_dir() else ()
        for p in sorted(directory.iterdir())
    }


def unfinished_step_dirs(directory: str | os.PathLike) -> tuple[str, ...]:
    """Names of the step dirs orbax considers temporary (an interrupted save).

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     os.makedirs(os.path.join(tmp, '2.orbax-checkpoint-tmp'))
        ...     os.makedirs(os.path.join(tmp, '1'))
        ...     unfinished_step_dirs(tmp)
        ('2.orbax-checkpoint-tmp',)
    """
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    directory = pathlib.Path(directory)
    if not directory.is_dir():
        return ()
    return tuple(sorted(
        p.name for p in directory.iterdir()
        if p.is_dir() and ocp.utils.is_tmp_checkpoint(p)
    ))


def verify_steps(
    directory: str | os.PathLike, size: int
) -> tuple[tuple[int, ...], tuple[int, ...], dict[int, str]]:
    """Restores every finalized step and compares it with what the child wrote.

    Returns ``(finalized_steps, verified_steps, corrupted)`` where ``corrupted``
    maps a step to a one-line reason.

    Example::

        >>> import tempfile
        >>> import orbax.checkpoint as ocp
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     with ocp.CheckpointManager(tmp) as mgr:
        ...         for step in (0, 1):
        ...             _ = mgr.save(step, args=ocp.args.StandardSave(crash_child.expected_tree(step, 4)))
        ...     verify_steps(tmp, size=4)
        ((0, 1), (0, 1), {})
    """
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    verified, corrupted = [], {}
    with ocp.CheckpointManager(
        os.fspath(directory),
        options=ocp.CheckpointManagerOptions(read_only=True),
    ) as mgr:
        finalized = tuple(mgr.all_steps())
        for step in finalized:
            try:
                with warnings.catch_warnings():
                    # "Sharding info not provided": expected, we restore without target.
                    warnings.simplefilter('ignore', UserWarning)
                    restored = mgr.restore(step, args=ocp.args.StandardRestore())
            except Exception as e:  # pylint: disable=broad-except
                corrupted[step] = f'{type(e).__name__}: {str(e)[:200]}'
                continue
            if trees_equal(restored, crash_child.expected_tree(step, size), bitwise=True):
                verified.append(step)
            else:
                corrupted[step] = 'restored values differ from what was saved'
    return finalized, tuple(verified), corrupted


def _report(child: _Child, directory: pathlib.Path, kill_point: str,
            entries_at_kill, code: int, size: int, t0: float) -> CrashReport:
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    tmp_dirs = unfinished_step_dirs(directory)
    finalized, verified, corrupted = verify_steps(directory, size)
    with ocp.CheckpointManager(
        os.fspath(directory),
        options=ocp.CheckpointManagerOptions(read_only=True),
    ) as mgr:
        latest = mgr.latest_step()
    committed = child.steps('COMMITTED')
    return CrashReport(
        directory=os.fspath(directory),
        kill_point=kill_point,
        child_returncode=code,
        saved_steps=child.steps('SAVE_RETURNED'),
        committed_steps=committed,
        tmp_present_when_save_returned=child.tmp_flags(),
        entries_at_kill=entries_at_kill,
        tmp_dirs_after_kill=tmp_dirs,
        finalized_steps=finalized,
        latest_step=latest,
        verified_steps=verified,
        lost_steps=tuple(s for s in committed if s not in finalized),
        corrupted_steps=corrupted,
        elapsed_s=time.perf_counter() - t0,
    )


def crash_during_save(
    directory: str | os.PathLike,
    *,
    kill_step: int = 2,
    size: int = DEFAULT_SIZE,
    timeout_s: float = 60.0,
) -> CrashReport:
    """Saves steps 0..kill_step, SIGKILLs the child while step kill_step commits.

    The child stops itself right after ``save(kill_step)`` returned (before
    ``wait_until_finished()``), so the kill point is the same on every run.
    ``directory`` must be absolute and empty (or missing).

    Example::

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     r = crash_during_save(tmp, kill_step=2, size=1 << 10)
        >>> r.latest_step, r.tmp_dirs_after_kill
        (1, ('2.orbax-checkpoint-tmp',))
    """
    if kill_step < 0:
        raise ValueError(f'kill_step must be >= 0, got {kill_step}')
    directory = absolute_dir(directory)
    t0 = time.perf_counter()
    child = _Child(directory, [
        '--steps', str(kill_step + 1), '--size', str(size),
        '--freeze-after-save', str(kill_step),
    ])
    try:
        child.wait_for(f'SAVE_RETURNED {kill_step} ', timeout_s)
        # Do not reap: WUNTRACED only reports that every thread has stopped.
        _, status = os.waitpid(child.proc.pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            raise RuntimeError(f'crash child did not freeze (wait status {status})')
        entries = _listing(directory)
    finally:
        code = child.kill()
    return _report(child, directory, f'killed after save({kill_step}) returned',
                   entries, code, size, t0)


def crash_after_delay(
    directory: str | os.PathLike,
    *,
    delay_s: float,
    size: int = 1 << 14,
    timeout_s: float = 60.0,
) -> CrashReport:
    """Lets the child save step after step and SIGKILLs it after ``delay_s``.

    The clock starts when the first ``save()`` returned, so the delay never
    lands in the child's import time. ``entries_at_kill`` is the listing right
    after the kill.

    Example::

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     r = crash_after_delay(tmp, delay_s=0.3)
        >>> r.nothing_lost
        True
    """
    if delay_s < 0:
        raise ValueError(f'delay_s must be >= 0, got {delay_s}')
    directory = absolute_dir(directory)
    t0 = time.perf_counter()
    # Far more steps than fit in delay_s: the kill always comes first.
    child = _Child(directory, ['--steps', '1000000', '--size', str(size)])
    try:
        child.wait_for('SAVE_RETURNED 0 ', timeout_s)
        time.sleep(delay_s)
    finally:
        code = child.kill()
    return _report(child, directory, f'killed {delay_s:.3f} s after save(0)',
                   _listing(directory), code, size, t0)


def clean_unfinished_steps(
    directory: str | os.PathLike, timeout_s: float = 30.0
) -> tuple[str, ...]:
    """Lets orbax remove interrupted saves; returns the names it removed.

    Uses ``CheckpointManagerOptions(cleanup_tmp_directories=True)``: the
    constructor starts the removal in a background thread, and only the next
    ``save()`` waits for it, so we wait here until the tmp dirs are gone.

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     os.makedirs(os.path.join(tmp, '2.orbax-checkpoint-tmp'))
        ...     (clean_unfinished_steps(tmp), os.listdir(tmp))
        (('2.orbax-checkpoint-tmp',), [])
    """
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    directory = pathlib.Path(directory)
    if not directory.is_absolute():
        raise ValueError(f'directory must be absolute, got {str(directory)!r}')
    before = unfinished_step_dirs(directory)
    mgr = ocp.CheckpointManager(
        os.fspath(directory),
        options=ocp.CheckpointManagerOptions(cleanup_tmp_directories=True),
    )
    try:
        deadline = time.monotonic() + timeout_s
        while unfinished_step_dirs(directory):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f'orbax did not remove {unfinished_step_dirs(directory)} within'
                    f' {timeout_s} s'
                )
            time.sleep(0.01)
    finally:
        mgr.close()
    return before

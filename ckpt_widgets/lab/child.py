"""The lab's one time-limited child runner and its one "absolute, empty folder" check.

Every drill that runs a child interpreter (``failures.crashes``, ``failures.exit_hang``,
``multiprocess``) starts it as a :class:`Child`: in its own process group (so Ctrl-C in the
notebook reaches only the parent, and one kill by PID reaches anything the child spawned), its
output handed line by line to a callback or written to a file, and the whole group killed by PID
on every way out of the ``with`` block: timeout, failure, or ``KeyboardInterrupt``.

Example::

    >>> import sys
    >>> lines = []
    >>> with Child([sys.executable, '-c', 'print("hi")'], on_stdout=lines.append) as child:
    ...     child.wait(timeout_s=60)
    0
    >>> lines  # None: the end of the stream
    ['hi\\n', None]
    >>> with Child([sys.executable, '-c', 'import time; time.sleep(60)']) as child:
    ...     child.wait(timeout_s=0.1) is None  # still running at the deadline
    True
    >>> child.returncode  # killed by the with block, never left behind
    -9
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence

# How long to wait for a SIGKILLed group to be reaped; a process stuck in the kernel (D state)
# is reported as still running instead of hanging the notebook.
KILL_WAIT_S = 10.0


def absolute_dir(directory: str | os.PathLike, *, empty: bool = True) -> pathlib.Path:
    """Returns ``directory`` as a Path if it is absolute (and, with ``empty``, empty or missing).

    Orbax refuses relative paths, so say so before starting a child; and never let a drill
    write over someone's checkpoints.

    Example::

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     absolute_dir(tmp) == pathlib.Path(tmp)
        True
        >>> absolute_dir('ckpt')
        Traceback (most recent call last):
        ValueError: directory must be absolute, got 'ckpt'
    """
    directory = pathlib.Path(directory)
    if not directory.is_absolute():
        raise ValueError(f'directory must be absolute, got {str(directory)!r}')
    if empty and directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f'directory is not empty: {directory}')
    return directory


class Child:
    """A child process in its own process group, killed with its group on leaving ``with``.

    ``on_stdout`` / ``on_stderr`` get every output line (newline included) from a reader
    thread, then ``None`` at the end of the stream; without a callback, ``stdout`` /
    ``stderr`` may be an open file to write to (files, unlike pipes, never block a chatty
    child), else the output is discarded.
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        env: dict | None = None,
        on_stdout: Callable[[str | None], None] | None = None,
        on_stderr: Callable[[str | None], None] | None = None,
        stdout=None,
        stderr=None,
    ):
        self.proc = subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if on_stdout else (stdout or subprocess.DEVNULL),
            stderr=subprocess.PIPE if on_stderr else (stderr or subprocess.DEVNULL),
            text=True,
            env=env,
            # Own process group: killpg by this PID reaches anything the child spawns.
            start_new_session=True,
        )
        self._threads = [
            threading.Thread(target=_pump, args=(pipe, callback), daemon=True)
            for pipe, callback in ((self.proc.stdout, on_stdout), (self.proc.stderr, on_stderr))
            if callback
        ]
        for thread in self._threads:
            thread.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit code (negative: killed by that signal); None while running."""
        return self.proc.poll()

    def wait(self, timeout_s: float | None = None) -> int | None:
        """Waits up to ``timeout_s`` for the exit; returns the code, or None at the deadline."""
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> int | None:
        """SIGKILLs the group, reaps the child and drains its output; returns the code."""
        kill_all([self])
        return self.returncode

    def _send_kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _reap(self) -> None:
        self.wait(KILL_WAIT_S)
        for thread in self._threads:
            thread.join(timeout=10)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc_info) -> None:
        self.kill()


def kill_all(children: Sequence[Child]) -> None:
    """SIGKILLs every child's group first, then reaps them all.

    All at once, not one by one: a member of a JAX cluster whose peer was killed may
    otherwise exit on its own (code 1) before its turn, which would hide that it hung.
    """
    for child in children:
        child._send_kill()  # pylint: disable=protected-access
    for child in children:
        child._reap()  # pylint: disable=protected-access


def _pump(pipe, callback: Callable[[str | None], None]) -> None:
    for line in pipe:
        callback(line)
    callback(None)

"""Watch an async save from a notebook: time a call, wait for a folder, hold a commit, list a
directory's top.

Async saves are about time and about moments, two things a checked notebook must not print
as numbers that vary. These helpers keep the varying part in a form the sanitizer rewrites
(`12.3 ms`) or turn it into a yes/no the cell can assert:

- `stopwatch()` times a block; its text is always `<number> ms` or `<number> s`;
- `wait_until(predicate)` polls until something becomes true (a tmp folder appeared, a step
  was committed), with a timeout, so a cell never depends on which thread won a race;
- `CommitGate()` holds each async save just before its commit until the cell lets it through,
  so "the step is still unfinished" is a fact the cell makes, not a race a fast disk wins;
- `top_level(path)` is a directory's first level only: the step folders and their state,
  which is stable while a save is still filling its tmp folder with files.

>>> with stopwatch() as t:
...     pass
>>> str(t).endswith(' ms')
True
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from typing import Callable, Iterator

from ckpt_widgets import render, scan, watch


def format_duration(seconds: float) -> str:
    """Seconds as `12.3 ms` below one second, else `1.23 s` (the form nbval sanitizes).

    >>> format_duration(0.0123), format_duration(1.5)
    ('12.3 ms', '1.50 s')
    """
    if seconds < 1:
        return f'{seconds * 1000:.1f} ms'
    return f'{seconds:.2f} s'


@dataclasses.dataclass
class Stopwatch:
    """Elapsed wall time of a `with stopwatch()` block; `str()` gives `12.3 ms` style text."""

    seconds: float = 0.0

    def __str__(self) -> str:
        return format_duration(self.seconds)


@contextlib.contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    """Time the block (wall clock, `time.perf_counter`).

    >>> with stopwatch() as t:
    ...     time.sleep(0.001)
    >>> t.seconds > 0
    True
    """
    watch = Stopwatch()
    start = time.perf_counter()
    try:
        yield watch
    finally:
        watch.seconds = time.perf_counter() - start


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, every: float = 0.005) -> bool:
    """Call `predicate` until it returns True (-> True) or `timeout` seconds pass (-> False):
    `watch.wait_for`, polling every 5 ms, to catch a moment of an async save.

    >>> wait_until(lambda: True)
    True
    >>> wait_until(lambda: False, timeout=0.01)
    False
    """
    return watch.wait_for(predicate, timeout, every)


class CommitGate:
    """Holds each commit of an async save until the notebook lets it through.

    Pass it to Orbax as `ocp.AsyncOptions(post_finalization_callback=gate)`. Orbax calls it in
    the save's background thread once every file is written, just *before* it renames
    `<step>.orbax-checkpoint-tmp` to `<step>` (orbax-checkpoint 0.12.8; its docstring says
    "after", the code and `tests/lab/test_async_watch.py` say before). On a fast disk that moment
    lasts milliseconds; held here, a cell can look at it on any machine. `release()` lets one
    commit through, now or whenever the next one arrives. A commit never released fails the
    save with a TimeoutError after `timeout` seconds instead of hanging the kernel.

    >>> gate = CommitGate(timeout=1)
    >>> gate.release(); gate(); gate.held
    0
    """

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._passes = 0
        self._held = 0
        self._changed = threading.Condition()

    def __call__(self) -> None:
        with self._changed:
            self._held += 1
            try:
                if not self._changed.wait_for(lambda: self._passes > 0, self.timeout):
                    raise TimeoutError(f'CommitGate: a commit was held for {self.timeout:g} s '
                                       'and never released (call gate.release())')
                self._passes -= 1
            finally:
                self._held -= 1

    @property
    def held(self) -> int:
        """How many saves are waiting at the gate right now."""
        with self._changed:
            return self._held

    def release(self, commits: int = 1) -> None:
        """Let `commits` commits through: those waiting first, then the next to arrive."""
        with self._changed:
            self._passes += commits
            self._changed.notify_all()


def top_level(path: str | os.PathLike) -> str:
    """The first level of a checkpoint directory as text: each step folder and its state.

    What a save writes inside its tmp folder changes from moment to moment; the folder's
    name and state ('unfinished step; save not committed' until Orbax renames it) do not.

    >>> import tempfile; top_level(tempfile.mkdtemp()).endswith('(empty)')
    True
    """
    snapshot = scan.scan_directory(path, expand='none')
    if snapshot.root is not None:
        children = tuple(dataclasses.replace(c, children=(), more=0)
                         for c in snapshot.root.children)
        snapshot = dataclasses.replace(snapshot,
                                       root=dataclasses.replace(snapshot.root, children=children))
    return render.directory_text(snapshot)

"""Watch an async save from a notebook: time a call, wait for a folder, list a directory's top.

Async saves are about time and about moments, two things a checked notebook must not print
as numbers that vary. These helpers keep the varying part in a form the sanitizer rewrites
(`12.3 ms`) or turn it into a yes/no the cell can assert:

- `stopwatch()` times a block; its text is always `<number> ms` or `<number> s`;
- `wait_until(predicate)` polls until something becomes true (a tmp folder appeared, a step
  was committed), with a timeout, so a cell never depends on which thread won a race;
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
import time
from typing import Callable, Iterator

from ckpt_widgets import render, scan


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
    """Call `predicate` until it returns True (-> True) or `timeout` seconds pass (-> False).

    >>> wait_until(lambda: True)
    True
    >>> wait_until(lambda: False, timeout=0.01)
    False
    """
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)


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

"""One folder watcher per kernel: displayed views redraw themselves when their folder changes.

A view registers its folder with :func:`watch` when it is displayed; the one background thread
of this module waits on the operating system's change notifications (``watchfiles``: inotify on
Linux, FSEvents on macOS, polling where neither works), groups the changes of
``DEBOUNCE_MS`` and calls each affected view's ``redraw()``. Idle, the thread sleeps in the
kernel's notification call: no scanning, near-zero CPU. Views are held by weak reference, so a
view that is garbage-collected stops being watched; the thread ends when no view is left.

Nothing here writes to the watched folders or prints: a redraw only sets widget values, which
ipywidgets sends to the browser from any thread, never into the output of a running cell.

    >>> import tempfile, time
    >>> class Counter:
    ...     redraws = 0
    ...     def redraw(self): self.redraws += 1
    >>> folder, counter = tempfile.mkdtemp(), Counter()
    >>> watch(counter, folder)
    >>> _ = open(f'{folder}/new', 'w').close()
    >>> wait_for(lambda: counter.redraws > 0)
    True
    >>> unwatch(counter); watched()
    []
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable

import watchfiles

# Changes closer together than this are one redraw; a save of many files is one or two redraws.
DEBOUNCE_MS = 150
# How often the thread looks up from the notification call to see whether a watched folder
# appeared or vanished (a missing folder cannot be watched; a deleted one loses its watch).
RECHECK_MS = 1000


class _Watcher:
    """The registry of watched views and the one thread that serves them."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # RLock: a weakref callback may run inside the lock
        self._views: dict[int, tuple[weakref.ref, str]] = {}
        self._keys = itertools.count()
        self._thread: threading.Thread | None = None
        self._rearm = threading.Event()  # set: leave the current watch and re-read the folders
        self.polling = os.environ.get('WATCHFILES_FORCE_POLLING') is not None

    def add(self, view: Any, folder: str | Path) -> None:
        self.remove(view)
        key = next(self._keys)
        ref = weakref.ref(view, lambda _, key=key: self._drop(key))
        with self._lock:
            self._views[key] = (ref, os.path.realpath(folder))
            view.__dict__['_watch_key'] = key
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name='ckpt_widgets.watch',
                                                daemon=True)
                self._thread.start()
        self._rearm.set()

    def remove(self, view: Any) -> None:
        key = view.__dict__.pop('_watch_key', None)
        if key is not None:
            self._drop(key)

    def _drop(self, key: int) -> None:
        with self._lock:
            self._views.pop(key, None)
        self._rearm.set()

    def folders(self) -> list[str]:
        with self._lock:
            return sorted({folder for ref, folder in self._views.values() if ref() is not None})

    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._views:
                    self._thread = None
                    return
                self._rearm.clear()
                folders = sorted({folder for _, folder in self._views.values()})
            roots = [f for f in folders if os.path.isdir(f)]
            if not roots:
                self._rearm.wait(RECHECK_MS / 1000)
                continue
            try:
                self._watch(roots, [f for f in folders if f not in roots])
            except Exception:  # noqa: BLE001 - no notifications here: poll instead, never raise
                if self.polling:
                    time.sleep(RECHECK_MS / 1000)
                self.polling = True

    def _watch(self, roots: list[str], missing: list[str]) -> None:
        armed = None
        # A folder deleted and made again is a new inode that the old watch does not see.
        inodes = [_inode(r) for r in roots]
        for changes in watchfiles.watch(
                *roots, watch_filter=None, debounce=DEBOUNCE_MS, step=50,
                stop_event=self._rearm, rust_timeout=RECHECK_MS, yield_on_timeout=True,
                raise_interrupt=False, force_polling=self.polling or None,
                ignore_permission_denied=True):
            if armed is None:
                # The first answer (changes, or the timeout) comes after the watch is set up; a
                # change between a view's display and then is caught by redrawing every view once.
                armed = self._notify(None)
            elif changes:
                self._notify({path for _, path in changes})
            if (any(path in roots for _, path in changes) or any(map(os.path.isdir, missing))
                    or [_inode(r) for r in roots] != inodes):
                return  # re-arm: watch the folder that appeared, re-watch one recreated

    def _notify(self, paths: set[str] | None) -> bool:
        """Redraw the views with a folder among (or above) `paths`; None: every view."""
        with self._lock:
            entries = list(self._views.values())
        for ref, folder in entries:
            view = ref()
            if view is not None and (paths is None or any(_inside(p, folder) for p in paths)):
                view.redraw()
        return True


def _inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + os.sep)


_WATCHER = _Watcher()


def watch(view: Any, folder: str | Path) -> None:
    """Call `view.redraw()` after each burst of changes below `folder` (replaces an earlier
    folder of the same view). Only a weak reference to the view is kept."""
    _WATCHER.add(view, folder)


def unwatch(view: Any) -> None:
    """Stop watching for `view` (nothing happens if it was not watched)."""
    _WATCHER.remove(view)


def watched() -> list[str]:
    """The folders watched now, sorted (resolved paths)."""
    return _WATCHER.folders()


def running() -> bool:
    """Whether the watcher thread runs (it stops soon after the last view goes)."""
    return _WATCHER.running()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, every: float = 0.02) -> bool:
    """Poll `condition` every `every` seconds until it holds (-> True) or `timeout` seconds
    pass (-> False); for tests and notebooks."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)
    return True

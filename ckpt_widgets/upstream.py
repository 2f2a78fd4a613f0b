"""Every private Orbax/JAX attribute the package relies on, in one place.

These are not public APIs: a new Orbax or JAX may rename them. Each has a test against the
pinned versions (`tests/views/test_upstream.py`), so an upgrade that breaks one fails one
test and one file, not a notebook. Imports are lazy: nothing heavy loads with this module.

>>> callable(jax_backends_started)
True
"""

from __future__ import annotations

from types import ModuleType
from typing import Any


def jax_backends_started() -> bool:
    """Whether JAX has already started its backends (then the device count is fixed)."""
    from jax._src import xla_bridge
    return xla_bridge.backends_are_initialized()


def manager_options(source: Any) -> Any:
    """The CheckpointManagerOptions of a CheckpointManager or of a v1 training.Checkpointer
    (which keeps them on the manager it wraps), or None."""
    return getattr(source, '_options', None) or getattr(getattr(source, '_manager', None), '_options', None)


def orbax_atomicity() -> ModuleType:
    """Orbax's atomicity module: every save ends in its `on_commit_callback` (the workshop
    watches commits there)."""
    from orbax.checkpoint._src.path import atomicity
    return atomicity


def orbax_async_path() -> ModuleType:
    """Orbax's async path helpers: `mkdir` creates a save's folders (notebook 09 slows it to
    play slow storage)."""
    from orbax.checkpoint._src.path import async_path
    return async_path

"""What several test modules share, importable as `tests.helpers` (a conftest is not a module
to import from: a second conftest.py, e.g. tests/browser/, would shadow it)."""

import contextlib
import os
import warnings

import flax
import numpy as np

TOY = [12, {'foo': 'str', 'bar': np.array((2, 3))}, [1, 4, 10]]


@contextlib.contextmanager
def flax_backend(msgpack: bool = True):
    """Flax's legacy msgpack writer (msgpack=True) or its Orbax default, restored afterwards."""
    previous = flax.config.flax_use_orbax_checkpointing
    flax.config.update('flax_use_orbax_checkpointing', not msgpack)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            yield
    finally:
        flax.config.update('flax_use_orbax_checkpointing', previous)


def tree_state(root) -> dict:
    """Every path below root with its bytes and mtime: proof that nothing was changed."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            content = open(p, 'rb').read() if os.path.isfile(p) and not os.path.islink(p) else b''
            state[p] = (st.st_mtime_ns, st.st_size, content)
    return state

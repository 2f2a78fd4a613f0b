"""What several test modules share, importable as `tests.helpers` (a conftest is not a module
to import from: a second conftest.py, e.g. tests/browser/, would shadow it)."""

import os

import numpy as np

TOY = [12, {'foo': 'str', 'bar': np.array((2, 3))}, [1, 4, 10]]


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

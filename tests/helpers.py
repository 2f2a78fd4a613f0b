"""What several test modules share, importable as `tests.helpers` (a conftest is not a module
to import from: a second conftest.py, e.g. tests/browser/, would shadow it)."""

import os
import socket

import numpy as np

from ckpt_widgets.watch import wait_for

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


def is_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (reaped or not)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def gone_within(pids, seconds: float) -> bool:
    """Whether every pid stops running within `seconds`: a SIGKILLed grandchild dies
    asynchronously (nobody of ours reaps it), so give it a moment."""
    return wait_for(lambda: not any(is_running(pid) for pid in pids), timeout=seconds)


def port_is_free(port: int) -> bool:
    """Nobody listens on 127.0.0.1:port (TIME_WAIT leftovers are fine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(('127.0.0.1', port))
            sock.listen()
        except OSError:
            return False
    return True

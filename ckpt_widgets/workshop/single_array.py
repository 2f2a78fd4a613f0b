"""Exercise 5 (notebook 05): save and restore a single array.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from ckpt_widgets import runtime
from ckpt_widgets.pytrees import compare

from .harness import (
    error_or_unwaited,
    first_difference,
    is_stub,
    quietly,
    run_learner,
    settle,
    tmp_names,
    watch_commits,
)
from .legacy_code import legacy_single_array
from .verdict import Verdict, failed_verdict, not_attempted

SINGLE_ARRAY = 'Exercise 5 · a single array'


def _single_array():
    import jax.numpy as jnp
    return jnp.arange(12, dtype=jnp.float32) * 0.5


@functools.lru_cache(maxsize=None)
def _legacy_array() -> Any:
    directory = str(runtime.workdir('exercise_5_flax'))
    with runtime.flax_msgpack_writer():  # the bare array needs the msgpack writer
        return quietly(legacy_single_array, directory, _single_array())


def check_single_array(fn: Callable) -> Verdict:
    """Exercise 5: `fn(ckpt_dir, arr)` saves one bare array under `ckpt_dir` and returns
    it restored, like `legacy_single_array` (which ran on Flax's msgpack backend).

    Checked: the call works, nothing is left unfinished, and the result is the bare array
    with Flax's values, shape and dtype (not wrapped in a dict).
    """
    title = SINGLE_ARRAY
    if is_stub(fn):
        return not_attempted(title, fn)
    legacy = _legacy_array()
    root = runtime.workdir('exercise_5_yours')
    with watch_commits(root):
        run = run_learner(fn, root, _single_array())
        unfinished = tmp_names(root)
        settle(root, unwaited=bool(unfinished) or run.error is not None)
    early = error_or_unwaited(title, run, root, unfinished)
    if early is not None:
        return early
    if not any(root.iterdir()):
        return failed_verdict(title, ['nothing was saved under ckpt_dir: save the array there'])
    result = run.result
    if result is None:
        return failed_verdict(title, ['your function returned None: return the restored array'])
    if not hasattr(result, 'shape') or not hasattr(result, 'dtype'):
        return failed_verdict(title, [f'you returned a {type(result).__name__}, not the array: the '
                               'legacy code got the bare array back; save it with ArraySave '
                               'instead of wrapping it'])
    if not compare(legacy, result).equal:
        return failed_verdict(title, ['your array differs from Flax\'s: '
                               + first_difference(legacy, result, 'Flax', 'yours')])
    return Verdict(title, 'passed',
                   "the bare array comes back equal to Flax's (values, shape and dtype)")


# --- one entry point -------------------------------------------------------------------------

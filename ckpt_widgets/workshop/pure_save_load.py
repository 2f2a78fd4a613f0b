"""Exercise 2 (notebook 02): save and load a pytree with a str leaf, ported to Orbax.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Callable

import numpy as np

from ckpt_widgets import runtime
from ckpt_widgets.pytrees import compare

from .harness import (
    LIST_TO_DICT_HINT,
    error_verdict,
    first_difference,
    forgot_wait_hint,
    is_list_to_dict,
    is_stub,
    quietly,
    run_learner,
    settle,
    tmp_names,
    watch_commits,
)
from .legacy_code import legacy_save_and_load
from .training_loop import loop_target
from .verdict import Verdict, failed_verdict, not_attempted

PURE_SAVE_LOAD = 'Exercise 2 · pure save and load'
PURE_DIR = './tmp/pure'


def _pure_trees() -> tuple[list, list]:
    first = [7, {'foo': 'workshop', 'bar': np.array([3, 1, 4])}, [2, 7, 1]]
    second = [8, {'foo': 'saved again', 'bar': np.array([1, 5, 9])}, [2, 6, 5]]
    return first, second


@functools.lru_cache(maxsize=None)
def _legacy_pure() -> tuple:
    directory = str(runtime.workdir('exercise_2_flax'))
    return tuple(quietly(legacy_save_and_load, directory, tree, loop_target())
                 for tree in _pure_trees())


def check_pure_save_load(fn: Callable) -> Verdict:
    """Exercise 2: `fn(ckpt_dir, tree, target)` saves `tree` (no manager, no steps) and
    returns it restored into `target`'s structure, like `legacy_save_and_load`.

    Called twice on the same relative './tmp/pure' (in a fresh working folder), with two
    different trees: the legacy `overwrite=True` replaces the first save, so must `fn`.
    """
    title = PURE_SAVE_LOAD
    if is_stub(fn):
        return not_attempted(title, fn)
    legacy = _legacy_pure()
    root = runtime.workdir('exercise_2_yours')
    results, unfinished, error, call = [], [], None, 0
    with contextlib.chdir(root), watch_commits(root):
        for call, tree in enumerate(_pure_trees(), start=1):  # noqa: B007 - `call` is read after the loop
            run = run_learner(fn, PURE_DIR, tree, loop_target())
            unfinished = tmp_names(root)
            if run.error is not None or unfinished:
                error = run.error
                break
            results.append(run.result)
        settle(root, unwaited=bool(unfinished) or run.error is not None)
    if error is not None:
        if call == 2 and 'already exists' in str(error):
            return error_verdict(title, run, root, 'your second save to the same path failed '
                                  "(it already exists): Flax's overwrite=True is Orbax's force=True")
        return error_verdict(title, run, root)
    if unfinished:
        return failed_verdict(title, [forgot_wait_hint(unfinished[-1])])
    for call, (flax_result, yours) in enumerate(zip(legacy, results, strict=False), start=1):
        if yours is None:
            return failed_verdict(title, ['your function returned None: return the restored tree'])
        if compare(flax_result, yours).equal:
            continue
        if call == 2 and compare(legacy[0], yours).equal:
            return failed_verdict(title, ['your second call returned the first tree: the second save '
                                   "did not replace the first (Flax's overwrite=True is "
                                   "Orbax's force=True)"])
        if is_list_to_dict(flax_result, yours):
            return failed_verdict(title, [LIST_TO_DICT_HINT])
        return failed_verdict(title, [f'call {call} returned something else than Flax: '
                               + first_difference(flax_result, yours, 'Flax', 'yours')])
    if not (root / PURE_DIR).exists():
        return failed_verdict(title, [f"nothing was saved at ckpt_dir ('{PURE_DIR}'): save there"])
    return Verdict(title, 'passed',
                   'both saves restore equal to Flax\'s, and the second replaced the first '
                   "(Flax's overwrite=True is Orbax's force=True)")

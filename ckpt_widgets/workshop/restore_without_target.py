"""Exercise 3 (notebook 03): restore yesterday's newest step without a target.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

import numpy as np
from flax.training import checkpoints

from ckpt_widgets import runtime
from ckpt_widgets.pytrees import compare

from .harness import LIST_TO_DICT_HINT, error_verdict, first_difference, is_list_to_dict, is_stub, quietly, run_learner
from .legacy_code import legacy_restore_latest
from .verdict import Verdict, failed_verdict, not_attempted

RESTORE_WITHOUT_TARGET = 'Exercise 3 · restore without a target'
RESTORE_STEPS = (0, 1, 2)


def _step_tree(step: int) -> list:
    return [10 + step, {'foo': f'step {step}', 'bar': np.array([step, step + 1])},
            [step, 2 * step, 3 * step]]


@functools.lru_cache(maxsize=None)
def _legacy_restore() -> Any:
    directory = runtime.workdir('exercise_3_flax')
    for step in RESTORE_STEPS:
        quietly(checkpoints.save_checkpoint, directory, _step_tree(step), step=step, keep=3)
    return quietly(legacy_restore_latest, directory)


def _saved_by_yesterdays_job(directory: Path) -> None:
    import orbax.checkpoint as ocp

    with ocp.CheckpointManager(directory) as mngr:
        for step in RESTORE_STEPS:
            mngr.save(step, args=ocp.args.PyTreeSave(_step_tree(step)))


def check_restore_without_target(fn: Callable) -> Verdict:
    """Exercise 3: `fn(ckpt_dir)` returns the newest step of an Orbax `CheckpointManager`
    directory (steps 0, 1, 2 saved with `PyTreeSave` by another process), without a target,
    like `legacy_restore_latest` did for Flax's checkpoints.

    Checked: no "could not be restored" warning (a fresh manager needs `args=`), the newest
    step, and the containers as saved (Flax's target=None turns lists into dicts).
    """
    title = RESTORE_WITHOUT_TARGET
    if is_stub(fn):
        return not_attempted(title, fn)
    legacy = _legacy_restore()
    root = runtime.workdir('exercise_3_yours')
    _saved_by_yesterdays_job(root)
    run = run_learner(fn, root)
    if run.error is not None:
        return error_verdict(title, run, root)
    latest = RESTORE_STEPS[-1]
    expected = _step_tree(latest)
    if any('could not be restored' in line for line in run.logs):
        return failed_verdict(title, ['you restored without args: a fresh CheckpointManager does not '
                               'know what item "default" holds (Orbax warned "could not be '
                               'restored"): pass args=ocp.args.PyTreeRestore()'])
    if run.result is None:
        return failed_verdict(title, ['your function returned None: return the restored tree'])
    if compare(expected, run.result).equal:
        return Verdict(title, 'passed',
                       f'step {latest} comes back as saved, lists included',
                       ("Flax's restore_checkpoint(target=None) gave the list back as a "
                        'dict with keys ' + ', '.join(repr(k) for k in legacy),))
    if is_list_to_dict(expected, run.result):
        return failed_verdict(title, [LIST_TO_DICT_HINT])
    for step in RESTORE_STEPS[:-1]:
        if compare(_step_tree(step), run.result).equal:
            return failed_verdict(title, [f'you restored step {step}; restore_checkpoint restores the '
                                   f'latest step ({latest}): use mngr.latest_step()'])
    return failed_verdict(title, [f'your result differs from step {latest}: '
                           + first_difference(expected, run.result, 'saved', 'yours')])

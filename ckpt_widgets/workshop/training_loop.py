"""Exercise 1 (notebook 01): the training loop with Flax's retention, ported to a CheckpointManager.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Callable

import numpy as np
from flax import serialization
from flax.training import checkpoints

from ckpt_widgets import runtime

from .harness import (
    COMMIT_DELAY_S,
    error_or_unwaited,
    finished_steps,
    is_stub,
    quietly,
    restore_hints,
    run_learner,
    settle,
    steps_text,
    tmp_names,
    watch_commits,
)
from .legacy_code import legacy_training_loop
from .verdict import Verdict, failed_verdict, not_attempted

TRAINING_LOOP = 'Exercise 1 · training loop'
LOOP_DIR = './tmp/loop'  # what the legacy code passes, relative to the folder it runs in
LOOP_STEPS = (0, 1, 2, 3, 4)


def _loop_tree() -> list:
    return [7, {'foo': 'workshop', 'bar': np.array([3, 1, 4])}, [2, 7, 1]]


def loop_target() -> list:
    return [0, {'foo': '', 'bar': np.array([0, 0, 0])}, [0, 0, 0]]


@functools.lru_cache(maxsize=None)
def _legacy_loop() -> dict:
    directory = runtime.workdir('exercise_1_flax')  # Flax refuses relative paths today too
    quietly(legacy_training_loop, str(directory), _loop_tree(), list(LOOP_STEPS))
    steps = finished_steps(directory)
    raw = quietly(checkpoints.restore_checkpoint, directory, target=None,
                   step=steps[-1].step, prefix='test_')
    return {'kept': tuple(s.step for s in steps), 'names': tuple(s.name for s in steps),
            'restored': serialization.from_state_dict(loop_target(), raw)}


def check_training_loop(fn: Callable) -> Verdict:
    """Exercise 1: `fn(ckpt_dir, tree, steps)` saves `tree` at every step, like
    `legacy_training_loop`. `ckpt_dir` is the legacy relative './tmp/loop'; `fn` runs with
    the working directory set to a fresh folder, so './tmp/loop' lands inside it.

    Checked: it ran, every save finished, the steps kept and their folder names equal
    Flax's, and the newest step restores equal to what Flax restores.
    """
    title = TRAINING_LOOP
    if is_stub(fn):
        return not_attempted(title, fn)
    legacy = _legacy_loop()
    root = runtime.workdir('exercise_1_yours')
    last = LOOP_STEPS[-1]
    with contextlib.chdir(root), watch_commits(
            root, delay=lambda step: COMMIT_DELAY_S if step == last else 0.0):
        run = run_learner(fn, LOOP_DIR, _loop_tree(), list(LOOP_STEPS))
        unfinished = tmp_names(root)
        settle(root, unwaited=bool(unfinished) or run.error is not None)
    early = error_or_unwaited(title, run, root, unfinished)
    if early is not None:
        return early
    directory = root / LOOP_DIR
    steps = finished_steps(directory)
    if not steps:
        return failed_verdict(title, [f"no finished step in ckpt_dir ('{LOOP_DIR}', relative to the "
                               "folder your function runs in): save every step there"])
    kept = tuple(s.step for s in steps)
    names = tuple(s.name for s in steps)
    hints = []
    if kept != legacy['kept']:
        if kept == (0, 2, 3, 4):
            why = 'keep_period is not keep_every_n_steps (see 06: FlaxRetention)'
        else:
            why = ('give the manager preservation_policy=FlaxRetention(keep=3, '
                   'keep_every_n_steps=2), Flax\'s rule (see 06)')
        hints.append(f'you kept steps {steps_text(kept)}; Flax kept '
                     f'{steps_text(legacy["kept"])}: {why}')
    flax_name = dict(zip(legacy['kept'], legacy['names'], strict=False))
    mine = dict(zip(kept, names, strict=False))
    common = [s for s in kept if s in flax_name] or [None]
    step = common[-1]
    yours_name = mine[step] if step is not None else names[-1]
    theirs = flax_name[step] if step is not None else legacy['names'][-1]
    if yours_name != theirs:
        why = ("Orbax adds the underscore, use step_prefix='test'" if '__' in yours_name
               else "use step_prefix='test' (Orbax adds the underscore)")
        hints.append(f'your step folders are named {yours_name}; Flax names them {theirs}: {why}')
    hints += restore_hints(directory / names[-1], kept[-1], legacy['restored'], root)
    if hints:
        return failed_verdict(title, hints)
    return Verdict(title, 'passed',
                   f'same steps as Flax {steps_text(kept)}, same folder names '
                   f'({names[0]} … {names[-1]}), and step {kept[-1]} restores equal to Flax\'s')

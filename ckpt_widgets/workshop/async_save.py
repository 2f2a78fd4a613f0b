"""Exercise 4 (notebook 04): async checkpointing that never blocks the loop and is waited for.
"""

from __future__ import annotations

import functools
import time
from typing import Callable

from flax.training import checkpoints

from ckpt_widgets import runtime

from .harness import (
    COMMIT_DELAY_S,
    Commits,
    error_verdict,
    finished_steps,
    forgot_wait_hint,
    is_stub,
    quietly,
    restore_hints,
    run_learner,
    settle,
    steps_text,
    tmp_names,
    watch_commits,
)
from .legacy_code import legacy_async_training_loop
from .verdict import Verdict, failed_verdict, not_attempted

ASYNC_SAVE = 'Exercise 4 · async checkpointing'
ASYNC_STEPS = (0, 1, 2)


def _async_params() -> dict:
    import jax.numpy as jnp
    return {'w': jnp.arange(8.0, dtype=jnp.float32), 'b': jnp.zeros(4, jnp.float32)}


class _TrainStep:
    """The loop's `train_step`: adds 1 to every leaf and notes when it was called."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, params):
        import jax
        self.calls.append(time.monotonic())
        return jax.tree.map(lambda x: x + 1, params)


def _blocked(commits: Commits, calls: list[float], steps: tuple[int, ...]) -> bool | None:
    """True when the first save committed before the loop's next train_step call (the loop
    waited for the write), False when the loop went on first, None if it never committed.

    Only the first save's commit is held back (and the last one's, for the unwaited-save
    check): a middle step of a tiny tree may well commit before the next call either way.
    """
    committed = commits.time_of(steps[0])
    if committed is None or len(calls) < 2:
        return None
    return committed <= calls[1]


@functools.lru_cache(maxsize=None)
def _legacy_async() -> dict:
    directory = runtime.workdir('exercise_4_flax')
    train_step = _TrainStep()
    with watch_commits(directory) as commits:
        quietly(legacy_async_training_loop, directory, _async_params(), list(ASYNC_STEPS),
                 train_step)
    steps = finished_steps(directory)
    restored = quietly(checkpoints.restore_checkpoint, directory, target=_async_params())
    return {'kept': tuple(s.step for s in steps), 'restored': restored,
            'blocked': _blocked(commits, train_step.calls, ASYNC_STEPS)}


def check_async_save(fn: Callable) -> Verdict:
    """Exercise 4: `fn(ckpt_dir, params, steps, train_step)` runs the loop of
    `legacy_async_training_loop` with Orbax: `params = train_step(params)`, then a save
    that does not block the loop, every step; all saves finished when `fn` returns.

    Checked by order, not by time: the first and last commits are held back by COMMIT_DELAY_S;
    a save that blocks commits before the next train_step call, an async one after it.
    """
    title = ASYNC_SAVE
    if is_stub(fn):
        return not_attempted(title, fn)
    legacy = _legacy_async()
    root = runtime.workdir('exercise_4_yours')
    train_step = _TrainStep()
    held_back = {ASYNC_STEPS[0], ASYNC_STEPS[-1]}
    with watch_commits(root, delay=lambda step: COMMIT_DELAY_S if step in held_back else 0.0
                        ) as commits:
        run = run_learner(fn, root, _async_params(), list(ASYNC_STEPS), train_step)
        unfinished = tmp_names(root)
        settle(root, unwaited=bool(unfinished) or run.error is not None)
    if run.error is not None:
        return error_verdict(title, run, root)
    if len(train_step.calls) != len(ASYNC_STEPS):
        return failed_verdict(title, [f'your loop called train_step {len(train_step.calls)} times for '
                               f'{len(ASYNC_STEPS)} steps: call it once per step, like the '
                               'legacy loop'])
    if unfinished:
        return failed_verdict(title, [forgot_wait_hint(unfinished[-1])])
    blocked = _blocked(commits, train_step.calls, ASYNC_STEPS)
    if blocked is None:
        return failed_verdict(title, ['no Orbax save committed a step per step in ckpt_dir: save '
                               'every step with an ocp.CheckpointManager'])
    hints = []
    if blocked:
        hints.append('your save blocked the loop for as long as a synchronous save: use '
                     "CheckpointManager's async save (and wait once, after the loop)")
    steps = finished_steps(root)
    kept = tuple(s.step for s in steps)
    if kept != legacy['kept']:
        hints.append(f'you kept steps {steps_text(kept)}; Flax kept '
                     f'{steps_text(legacy["kept"])}: keep=2 keeps the newest 2 '
                     '(preservation_policy=LatestN(2), or max_to_keep=2)')
    if steps:
        hints += restore_hints(root / steps[-1].name, kept[-1], legacy['restored'], root)
    if hints:
        return failed_verdict(title, hints)
    flax_line = ("Flax's save_checkpoint(async_manager=AsyncManager()) blocked the loop while "
                 'it wrote' if legacy['blocked'] else "Flax's save did not block the loop")
    return Verdict(title, 'passed',
                   f'the loop went on while each save was written, all saves finished, steps '
                   f'{steps_text(kept)} kept like Flax, and step {kept[-1]} restores equal '
                   "to Flax's", (flax_line,))

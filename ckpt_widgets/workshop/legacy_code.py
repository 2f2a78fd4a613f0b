"""The legacy Flax code of each exercise, exactly as the learner sees it, and its source text.

(`checkpoints` is `flax.training.checkpoints`, `serialization` is `flax.serialization`.)

>>> print(legacy_source('restore_without_target'))
def legacy_restore_latest(ckpt_dir):
    return checkpoints.restore_checkpoint(ckpt_dir, target=None)
"""

from __future__ import annotations

import inspect
import textwrap

from flax import serialization
from flax.training import checkpoints


def legacy_training_loop(ckpt_dir, tree, steps):
    for step in steps:
        # do your training
        checkpoints.save_checkpoint(ckpt_dir, tree, step=step,
                                    prefix='test_', keep=3, keep_every_n_steps=2)


def legacy_save_and_load(ckpt_dir, tree, target):
    checkpoints.save_checkpoint(ckpt_dir, tree, step=0, overwrite=True)
    # target=target fails on the str leaf today (notebook 02): restore, then fill the target
    restored = checkpoints.restore_checkpoint(ckpt_dir, target=None)
    return serialization.from_state_dict(target, restored)


def legacy_restore_latest(ckpt_dir):
    return checkpoints.restore_checkpoint(ckpt_dir, target=None)


def legacy_async_training_loop(ckpt_dir, params, steps, train_step):
    async_manager = checkpoints.AsyncManager()
    for step in steps:
        params = train_step(params)
        checkpoints.save_checkpoint(ckpt_dir, params, step=step, keep=2,
                                    async_manager=async_manager)
    async_manager.wait_previous_save()


def legacy_single_array(ckpt_dir, arr):
    # Today this save fails (notebook 05); it ran on Flax's msgpack backend, as the checker does.
    checkpoints.save_checkpoint(ckpt_dir, arr, step=0)
    return checkpoints.restore_checkpoint(ckpt_dir, target=None)


LEGACY = {
    'training_loop': legacy_training_loop,
    'pure_save_load': legacy_save_and_load,
    'restore_without_target': legacy_restore_latest,
    'async_save': legacy_async_training_loop,
    'single_array': legacy_single_array,
}


def legacy_source(name: str) -> str:
    """The legacy code of exercise `name`, as the checker runs it."""
    return textwrap.dedent(inspect.getsource(LEGACY[name])).rstrip()

"""The checker's hint table: one stable key per mistake, with what to say about it.

A verdict's message is worded for the learner and may name their steps or folders
("you kept steps [0, 2, 3, 4]; ..."); its `hint_key` names the mistake itself and stays the
same when the wording changes, so the board can count learners per mistake. Each key has a
short `label` (what the board shows) and `say` (what the instructor can tell the room).

>>> HINTS['keep-period'].label
'keep_period is not keep_every_n_steps'
>>> label_of('raised:FileNotFoundError')
'their function raised FileNotFoundError'
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class HintInfo:
    """One row of the hint table: the board's short label and what to tell the room."""

    label: str
    say: str


HINTS: dict[str, HintInfo] = {
    'relative-path': HintInfo(
        'relative directory',
        'Orbax wants absolute paths: wrap the directory in os.path.abspath (notebook 00).'),
    'str-leaf': HintInfo(
        'StandardSave refuses str leaves',
        'The tree holds a string: StandardSave takes arrays and numbers only; use PyTreeSave / '
        'PyTreeRestore (notebook 01).'),
    'list-to-dict': HintInfo(
        'lists came back as dicts',
        "That is Flax's restore_checkpoint(target=None) habit; Orbax's PyTreeRestore keeps "
        'lists as lists (notebook 03).'),
    'forgot-wait': HintInfo(
        'async save not waited for',
        'CheckpointManager saves in the background: end with a `with` block or '
        'wait_until_finished() (notebook 04).'),
    'keep-period': HintInfo(
        'keep_period is not keep_every_n_steps',
        'The guide maps keep_every_n_steps to keep_period, which keeps step % n == 0, a '
        'different set: use FlaxRetention(keep, keep_every_n_steps) (notebooks 01 and 06).'),
    'retention': HintInfo(
        "other steps kept than Flax's",
        "Put Flax's rule in preservation_policy=: FlaxRetention for keep + keep_every_n_steps, "
        'LatestN(n) for keep=n (notebooks 01 and 06).'),
    'step-prefix': HintInfo(
        "step_prefix='test_' gives test__4",
        "Orbax adds the underscore itself: step_prefix='test' names the folders test_4 like "
        'Flax (notebook 01).'),
    'restore-fails': HintInfo(
        'the newest step does not restore',
        'Restore the step folder with PyTreeRestore and read the error; usually a wrong item '
        'or handler (notebook 09).'),
    'restore-differs': HintInfo(
        "restores something else than Flax",
        'Compare leaf by leaf with cw.compare(flax_result, orbax_result) to find the leaf.'),
    'returned-none': HintInfo(
        'returned None',
        'The function must return what it restored, like the legacy code did.'),
    'no-steps': HintInfo(
        'no finished step where expected',
        'Save into the ckpt_dir the function is given (relative to its working folder).'),
    'needs-force': HintInfo(
        "overwrite=True is force=True",
        "The second save to the same path fails: Flax's overwrite=True is the Checkpointer's "
        'force=True here (notebook 02).'),
    'first-tree-returned': HintInfo(
        'the second save did not replace the first',
        "Save with force=True so the second save replaces the folder (notebook 02)."),
    'result-differs': HintInfo(
        "result differs from Flax's",
        'Compare leaf by leaf with cw.compare to find the leaf that differs.'),
    'nothing-saved': HintInfo(
        'nothing saved in ckpt_dir',
        'Save under the ckpt_dir argument, not a folder of your own.'),
    'restore-without-args': HintInfo(
        'restore without args',
        'A fresh CheckpointManager does not know what item "default" holds: pass '
        'args=ocp.args.PyTreeRestore() (notebook 03).'),
    'not-latest-step': HintInfo(
        'restored an older step',
        'restore_checkpoint restored the newest step: use mngr.latest_step() (notebook 03).'),
    'train-step-calls': HintInfo(
        'train_step called the wrong number of times',
        'Keep the loop as it was: one train_step call per step.'),
    'no-manager-save': HintInfo(
        'no CheckpointManager save per step',
        'Save every step through an ocp.CheckpointManager (notebook 04).'),
    'blocking-save': HintInfo(
        'the save blocks the loop',
        'Drop enable_async_checkpointing=False and the per-step wait: the manager is async by '
        'default; wait once, after the loop (notebook 04).'),
    'array-standard-save': HintInfo(
        'StandardSave refuses a single array',
        'A bare array needs ocp.args.ArraySave / ArrayRestore, or v1 save / load (notebook 05).'),
    'legacy-bare-array': HintInfo(
        'kept the legacy call',
        "Today's Flax refuses a bare array: port it to ArraySave / ArrayRestore (notebook 05)."),
    'wrapped-array': HintInfo(
        'wrapped the array in a dict',
        'Save the bare array with ArraySave instead of wrapping it (notebook 05).'),
    'raised': HintInfo(
        'their function raised an error',
        'Read the error in the verdict together; notebook 09 lists the usual ones.'),
}


def check_key(key: str) -> str:
    """`key` if it is in the table (or is 'raised:<ExceptionType>'), else ValueError.

    >>> check_key('str-leaf')
    'str-leaf'
    """
    if key in HINTS or (key.startswith('raised:') and key[len('raised:'):]):
        return key
    raise ValueError(f'hint key {key!r} is not in the hint table')


def label_of(key: str, fallback: str = '') -> str:
    """The board's short label for `key`; `fallback` (the recorded hint) for an unknown key."""
    if key.startswith('raised:'):
        return f'their function raised {key[len("raised:"):]}'
    info = HINTS.get(key)
    return info.label if info is not None else fallback

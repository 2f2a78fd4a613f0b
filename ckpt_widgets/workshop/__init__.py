"""The workshop room: self-checking exercises (notebooks 11 and 12) that port a legacy Flax call
to Orbax and give a `Verdict`.

Holds `legacy_code` (the legacy calls the learner ports), `verdict` (the `Verdict` result),
`harness` (running the learner's function, watching Orbax commits, the shared hints) and one
short module per exercise's check. May import the top level of `ckpt_widgets` (the views and
their pipeline), never another room; the top level never imports this room.

`check_<exercise>(fn)` (or `check_exercise(name, fn)`):

1. runs the LEGACY Flax code now, in its own `workdir`, on fresh data (once per kernel);
2. runs the learner's `fn` on the same data, in another fresh `workdir`;
3. compares what both left on disk (`scan.list_steps`) and what both restore
   (`pytrees.compare`), and returns a `Verdict`: `✓ ...`, `✗ <what is wrong and what to
   change>`, or `○ not attempted yet: ...` while `fn` is still the shipped stub (`...`).

Verdicts are deterministic text (no times, no absolute paths), so a notebook of checks runs
under strict nbval.

>>> def orbax_single_array(ckpt_dir, arr):
...     ...  # the shipped stub
>>> check_single_array(orbax_single_array).status
'not attempted'
>>> check_exercise('single_array', lambda d, a: None).status  # a lambda is an attempt
'failed'
"""

from __future__ import annotations

from typing import Callable

from .async_save import check_async_save
from .harness import EXIT_HANG_NOTE, is_stub
from .legacy_code import legacy_source
from .pure_save_load import check_pure_save_load
from .restore_without_target import check_restore_without_target
from .single_array import check_single_array
from .training_loop import check_training_loop
from .verdict import Verdict

EXERCISES: dict[str, Callable[[Callable], Verdict]] = {
    'training_loop': check_training_loop,
    'pure_save_load': check_pure_save_load,
    'restore_without_target': check_restore_without_target,
    'async_save': check_async_save,
    'single_array': check_single_array,
}


def check_exercise(name: str, fn: Callable) -> Verdict:
    """Check `fn` against exercise `name` (a key of `EXERCISES`)."""
    if name not in EXERCISES:
        raise KeyError(f'no exercise {name!r}; there are {sorted(EXERCISES)}')
    return EXERCISES[name](fn)


__all__ = ['EXERCISES', 'EXIT_HANG_NOTE', 'Verdict', 'check_async_save', 'check_exercise',
           'check_pure_save_load', 'check_restore_without_target', 'check_single_array',
           'check_training_loop', 'is_stub', 'legacy_source']

"""The workshop room: self-checking exercises (notebooks 11 and 12) that port a legacy Flax call
to Orbax and give a `Verdict`.

Holds `legacy_code` (the legacy calls the learner ports), `verdict` (the `Verdict` result),
`harness` (running the learner's function, watching Orbax commits, the shared hints), one
short module per exercise's check, and for the instructor (issue 14): `hints` (the hint table:
a stable key per mistake), `progress` (recording each verdict when `CKPT_LAB_PROGRESS` is set),
`board` (`ClassBoard`, the live class board) and `simulate` (a simulated room). May import
the top level of `ckpt_widgets` (the views and their pipeline), never another room; the top
level never imports this room.

`check_<exercise>(fn)` (or `check_exercise(name, fn)`):

1. runs the LEGACY Flax code now, in its own `workdir`, on fresh data (once per kernel);
2. runs the learner's `fn` on the same data, in another fresh `workdir`;
3. compares what both left on disk (`scan.list_steps`) and what both restore
   (`pytrees.compare`), and returns a `Verdict`: `✓ ...`, `✗ <what is wrong and what to
   change>`, or `○ not attempted yet: ...` while `fn` is still the shipped stub (`...`).

Verdicts are deterministic text (no times, no absolute paths), so a notebook of checks runs
under strict nbval.

>>> from ckpt_widgets.workshop import check_exercise, check_single_array
>>> def orbax_single_array(ckpt_dir, arr):
...     ...  # the shipped stub
>>> check_single_array(orbax_single_array).status
'not attempted'
>>> check_exercise('single_array', lambda d, a: None).status  # a lambda is an attempt
'failed'
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

# exercise -> the module of its check (`check_<exercise>`), in the workshop's order
_CHECK_MODULES = {
    'training_loop': 'training_loop',
    'pure_save_load': 'pure_save_load',
    'restore_without_target': 'restore_without_target',
    'async_save': 'async_save',
    'single_array': 'single_array',
}
# other names of this face -> their module. The face is lazy (PEP 562) like the package's:
# the board, the recorder and the simulated room's parent process need no JAX, Flax or Orbax.
_NAMES = {'EXIT_HANG_NOTE': 'harness', 'is_stub': 'harness', 'legacy_source': 'legacy_code',
          'Verdict': 'verdict'}


def _exercises() -> dict[str, Callable]:
    """The checks, each wrapped so that its verdict is recorded (when CKPT_LAB_PROGRESS is
    set): the one place every check returns its verdict."""
    from .progress import recorded

    checks = {}
    for exercise, module in _CHECK_MODULES.items():
        check = getattr(importlib.import_module(f'.{module}', __name__), f'check_{exercise}')
        checks[exercise] = recorded(exercise)(check)
    return checks


def check_exercise(name: str, fn: Callable) -> Any:
    """Check `fn` against exercise `name` (a key of `EXERCISES`)."""
    exercises = _loaded('EXERCISES')
    if name not in exercises:
        raise KeyError(f'no exercise {name!r}; there are {sorted(exercises)}')
    return exercises[name](fn)


def __getattr__(name: str) -> Any:
    if name == 'EXERCISES':
        value = _exercises()
    elif name.startswith('check_') and name[len('check_'):] in _CHECK_MODULES:
        value = _loaded('EXERCISES')[name[len('check_'):]]
    elif name in _NAMES:
        value = getattr(importlib.import_module(f'.{_NAMES[name]}', __name__), name)
    else:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    globals()[name] = value  # later lookups skip this function
    return value


def _loaded(name: str) -> Any:
    """A name of this face, loaded once (module attributes skip `__getattr__` after that)."""
    return globals()[name] if name in globals() else __getattr__(name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = ['EXERCISES', 'EXIT_HANG_NOTE', 'Verdict', 'check_async_save', 'check_exercise',
           'check_pure_save_load', 'check_restore_without_target', 'check_single_array',
           'check_training_loop', 'is_stub', 'legacy_source']

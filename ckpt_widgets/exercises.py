"""Self-checking workshop exercises: port a legacy Flax call to Orbax, get a verdict.

Each exercise gives the learner one legacy call from scenarios 01-05 and asks for the Orbax
version as a function. `check_<exercise>(fn)` (or `check_exercise(name, fn)`):

1. runs the LEGACY Flax code now, in its own `workdir`, on fresh data (once per kernel);
2. runs the learner's `fn` on the same data, in another fresh `workdir`;
3. compares what both left on disk (`scan.list_steps`) and what both restore
   (`pytrees.compare`), and returns a `Verdict`: `✓ ...`, `✗ <what is wrong and what to
   change>`, or `○ not attempted yet: ...` while `fn` is still the shipped stub (`...`).

Verdicts are deterministic text (no times, no absolute paths), so a notebook of checks runs
under strict nbval. Async saves are judged by ORDER, not by duration: while the learner's
code runs, every Orbax commit (the rename of `<step>.orbax-checkpoint-tmp` to `<step>`) is
recorded and, where the check needs it, held back for `COMMIT_DELAY_S` like a slow disk.
An unwaited save is then always still unfinished when `fn` returns, and a save that blocks
the loop always commits before the loop's next `train_step` call.

>>> def orbax_single_array(ckpt_dir, arr):
...     ...  # the shipped stub
>>> check_single_array(orbax_single_array).status
'not attempted'
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import dataclasses
import functools
import inspect
import logging
import os
import re
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Self

import numpy as np
from flax import serialization
from flax.training import checkpoints

from . import layout, render, runtime, scan
from .errors import error_headline
from .pytrees import compare
from .workshop import progress
from .workshop.hints import check_key

COMMIT_DELAY_S = 0.25  # a "slow disk": how long a watched commit is held back
_SETTLE_TIMEOUT_S = 5.0

# --- the legacy code, exactly as the learner sees it (`legacy_source`) -------------------
# (`checkpoints` is `flax.training.checkpoints`, `serialization` is `flax.serialization`.)


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


# --- the verdict -----------------------------------------------------------------------------

_SYMBOLS = {'passed': '✓', 'failed': '✗', 'not attempted': '○'}
_COLORS = {'passed': '#2e7d32', 'failed': '#c62828', 'not attempted': '#757575'}


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What a checker found: `status` ('passed', 'failed', 'not attempted') and why.

    `message` is the one line that matters (the hint, when failed); `details` are further
    lines (more problems, or what the legacy code did). Truthy only when passed.

    >>> v = Verdict('Exercise 0 · demo', 'failed', 'your directory is relative')
    >>> v.text
    '✗ Exercise 0 · demo: your directory is relative'
    >>> bool(v), v.attempted
    (False, True)
    """

    exercise: str
    status: str
    message: str
    details: tuple[str, ...] = ()
    hint_key: str = ''  # the mistake's key in workshop.hints (failed only), for the board

    @property
    def passed(self) -> bool:
        return self.status == 'passed'

    @property
    def attempted(self) -> bool:
        return self.status != 'not attempted'

    @property
    def text(self) -> str:
        lines = [f'{_SYMBOLS[self.status]} {self.exercise}: {self.message}']
        lines += [f'  {line}' for line in self.details]
        return '\n'.join(lines)

    @property
    def html(self) -> str:
        color = _COLORS[self.status]
        details = ''.join(f'<div style="margin-left:1.4em;color:#444">{render.escape(d)}</div>'
                          for d in self.details)
        return (f'<div style="border-left:4px solid {color};padding:4px 8px;margin:2px 0;'
                f'font-family:sans-serif;font-size:13px">'
                f'<span style="color:{color};font-weight:bold">{_SYMBOLS[self.status]}</span> '
                f'<b>{render.escape(self.exercise)}</b>: {render.escape(self.message)}'
                f'{details}</div>')

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {'text/plain': self.text, 'text/html': self.html}

    def __repr__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return self.passed


class Hint(str):
    """A hint's text, carrying the key of its mistake in the hint table (`workshop.hints`).

    >>> h = Hint('relative-path', 'your directory is relative')
    >>> h, h.key
    ('your directory is relative', 'relative-path')
    """

    key: str

    def __new__(cls, key: str, text: str) -> Self:
        hint = super().__new__(cls, text)
        hint.key = check_key(key)
        return hint


def _failed(title: str, hints: list[Hint], details: tuple[str, ...] = ()) -> Verdict:
    extra = tuple(f'also: {h}' for h in hints[1:])
    return Verdict(title, 'failed', str(hints[0]), extra + tuple(details), hints[0].key)


# --- running the learner's function ----------------------------------------------------------

_STUB_EXPRESSIONS = (type(...), str)


def is_stub(fn: Callable) -> bool:
    """Whether `fn`'s body is still a placeholder: only a docstring, `...`, `pass`,
    `return`/`return None` or `raise NotImplementedError`.

    >>> def todo(x):
    ...     '''Port me.'''
    ...     ...
    >>> is_stub(todo), is_stub(lambda x: x)
    (True, False)
    """
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return False
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False

    def placeholder(stmt: ast.stmt) -> bool:
        if isinstance(stmt, ast.Pass):
            return True
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            return isinstance(stmt.value.value, _STUB_EXPRESSIONS)
        if isinstance(stmt, ast.Return):
            return stmt.value is None or (isinstance(stmt.value, ast.Constant)
                                          and stmt.value.value is None)
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            return isinstance(exc, ast.Name) and exc.id == 'NotImplementedError'
        return False

    return all(placeholder(stmt) for stmt in node.body)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _captured() -> Iterator[list[str]]:
    """Collect (never print) the absl/Orbax log records and Python warnings of a block."""
    handler = _Records()
    logger = logging.getLogger('absl')
    old = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old[0])
        logger.propagate = old[1]
        handler.messages.extend(str(w.message) for w in caught)


@dataclasses.dataclass
class _Run:
    result: Any = None
    error: BaseException | None = None
    logs: list[str] = dataclasses.field(default_factory=list)
    threads_before: frozenset[int] = frozenset()

    def left_a_waiting_thread(self) -> bool:
        """Whether the run left an Orbax save thread waiting for a signal that never comes:
        what a failed `CheckpointManager.save` (StandardSave of a str leaf) does, and what
        makes the interpreter hang at exit (notebook 09). Ask after `_settle`."""
        return bool(_signal_threads() - self.threads_before)


def _signal_threads() -> frozenset[int]:
    import threading
    return frozenset(t.ident for t in threading.enumerate()
                     if t.is_alive() and not t.daemon and '_target_setting_result' in t.name)


EXIT_HANG_NOTE = ('note: this failed save left an Orbax thread waiting (the exit hang of '
                  'notebook 09): a script would not exit now; restart this kernel when done (see 13)')


def _error_or_unwaited(title: str, run: _Run, root: Path, unfinished: list[str]) -> Verdict | None:
    """The verdict when the learner's code raised or left a save unfinished, else None."""
    if run.error is not None:
        return _error_verdict(title, run, root)
    if unfinished:
        return _failed(title, [_forgot_wait_hint(unfinished[-1])])
    return None


def _error_verdict(title: str, run: _Run, root: Path, hint: Hint | None = None) -> Verdict:
    details = (EXIT_HANG_NOTE,) if run.left_a_waiting_thread() else ()
    return _failed(title, [hint or _error_hint(run.error, root)], details)


def _run(fn: Callable, *args: Any) -> _Run:
    run = _Run(threads_before=_signal_threads())
    with _captured() as logs:
        try:
            run.result = fn(*args)
        except Exception as e:  # the learner's bug becomes a hint, not a traceback
            run.error = e
    run.logs = logs
    return run


@dataclasses.dataclass
class _Commits:
    """Orbax commits seen under `root`: (final folder name, step or None, time), in order."""

    root: Path
    events: list[tuple[str, int | None, float]] = dataclasses.field(default_factory=list)

    def time_of(self, step: int) -> float | None:
        return next((t for _, s, t in self.events if s == step), None)


@contextlib.contextmanager
def _watch_commits(root: Path, delay: Callable[[int | None], float] = lambda step: 0.0
                   ) -> Iterator[_Commits]:
    """Record every Orbax commit of a checkpoint under `root`, holding some back by `delay`.

    Every Orbax save (Checkpointer, AsyncCheckpointer, CheckpointManager, v1 and Flax's
    Orbax backend) ends in `atomicity.on_commit_callback`, which writes commit_success.txt
    and renames the tmp folder; the wrapper runs in the save's own (background) thread.
    """
    from orbax.checkpoint._src.path import atomicity

    commits = _Commits(root)
    original = atomicity.on_commit_callback

    async def on_commit_callback(tmp_dir, **kwargs):
        final = Path(os.path.abspath(os.fspath(tmp_dir.get_final())))
        mine = final == root or root in final.parents
        step = layout.step_of(final.name) if mine else None
        if mine and delay(step) > 0:
            await asyncio.sleep(delay(step))
        result = await original(tmp_dir, **kwargs)
        if mine:
            commits.events.append((final.name, step, time.monotonic()))
        return result

    atomicity.on_commit_callback = on_commit_callback
    try:
        yield commits
    finally:
        atomicity.on_commit_callback = original


def _tmp_names(root: Path) -> list[str]:
    """Unfinished Orbax saves under `root`, outermost only, paths relative to `root`."""
    found = []
    for folder, dirs, _ in os.walk(root):
        for name in sorted(dirs):
            if layout.is_tmp_name(name):
                found.append(os.path.relpath(os.path.join(folder, name), root))
        dirs[:] = [d for d in dirs if not layout.is_tmp_name(d)]
    return sorted(found)


def _listing(root: Path) -> tuple[str, ...]:
    return tuple(sorted(os.path.relpath(os.path.join(f, n), root)
                        for f, ds, fs in os.walk(root) for n in ds + fs))


def _settle(root: Path, unwaited: bool, quiet_for: float = COMMIT_DELAY_S + 0.3) -> None:
    """Wait until background work under `root` is over, so nothing changes after a verdict.

    Done when no unfinished folder is left, or when nothing changed for `quiet_for` seconds
    (a failed save leaves its tmp folder for ever). After an `unwaited` save, the manager
    nobody closed also deletes old steps after its commit: wait for the quiet period then.
    """
    deadline = time.monotonic() + _SETTLE_TIMEOUT_S
    last, since = None, time.monotonic()
    while time.monotonic() < deadline and (unwaited or _tmp_names(root)):
        now = _listing(root)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_for:
            return
        time.sleep(0.02)


def _plain_tmp(name: str) -> str:
    """`4.orbax-checkpoint-tmp-1732...` -> `4.orbax-checkpoint-tmp` (stable text)."""
    return re.sub(r'(orbax-checkpoint-tmp)-\d+$', r'\1', name)


# --- shared hints ----------------------------------------------------------------------------

RELATIVE_HINT = Hint('relative-path', 'your directory is relative: Orbax needs an absolute path '
                     '(os.path.abspath(ckpt_dir))')
STR_LEAF_HINT = Hint('str-leaf', 'StandardSave refuses str leaves: use PyTreeSave '
                     '(ocp.args.PyTreeSave / PyTreeRestore, or ocp.PyTreeCheckpointer)')
LIST_TO_DICT_HINT = Hint('list-to-dict', "your restore turned the list into a dict with keys "
                         "'0', '1', ...: that is Flax's restore_checkpoint(target=None); "
                         "Orbax's PyTreeRestore keeps lists")


def _not_attempted(title: str, fn: Callable) -> Verdict:
    name = getattr(fn, '__name__', 'your function')
    return Verdict(title, 'not attempted',
                   f'not attempted yet: replace the `...` in `{name}` with your Orbax code, '
                   'then run this cell again')


def _error_hint(error: BaseException, root: Path) -> Hint:
    """The specific hint for a known mistake's exception, else the exception itself."""
    message = str(error)
    if 'Checkpoint path should be absolute' in message:
        return RELATIVE_HINT
    if "Unsupported type: <class 'str'>" in message:
        return STR_LEAF_HINT
    if 'does not support single arrays' in message:
        return Hint('array-standard-save', 'StandardSave refuses a single array: use '
                    'ocp.args.ArraySave / ArrayRestore (or ocp_v1.save / ocp_v1.load)')
    if 'Orbax backend only accept pytree' in message:
        return Hint('legacy-bare-array', "that is the legacy call, and today's Flax refuses a "
                    "bare array (\"Orbax backend only accept pytree\"): use ocp.args.ArraySave / "
                    'ArrayRestore')
    return Hint(f'raised:{type(error).__name__}',
                f'your function raised {error_headline(error, root)}')


def _forgot_wait_hint(tmp: str) -> Hint:
    name = _plain_tmp(os.path.basename(tmp))
    step = layout.step_of(name)
    what = f'step {step} is still {name}' if step is not None else f'{name} is still unfinished'
    return Hint('forgot-wait', f'you forgot to wait for the async save: {what} '
            '(call wait_until_finished() or use `with`)')


def _restore_hints(path: Path, step: int, expected: Any, root: Path) -> list[Hint]:
    """[] when the step at `path` restores to `expected` (what Flax restored), else the hint."""
    try:
        restored = _restore_step(path)
    except Exception as e:  # noqa: BLE001 - the learner's checkpoint may be anything
        return [Hint('restore-fails', f'step {step} does not restore: {error_headline(e, root)}')]
    if compare(expected, restored).equal:
        return []
    return [Hint('restore-differs', f'step {step} does not restore to what Flax restores: '
                 + _first_difference(expected, restored, 'Flax', 'yours'))]


def _first_difference(a: Any, b: Any, left: str, right: str) -> str:
    d = compare(a, b, left, right).differences[0]
    shown = f' ({d.left} vs {d.right})' if d.left and d.right and d.status != 'container differs' else ''
    return f'{d.path or "(root)"}: {d.status}{shown}'


def _is_list_to_dict(expected: Any, got: Any) -> bool:
    """Same values, but some lists of `expected` are dicts keyed '0', '1', ... in `got`."""
    differences = compare(expected, got).differences
    return bool(differences) and all(d.status == 'container differs' for d in differences)


def _quietly(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    with _captured():
        return fn(*args, **kwargs)


def _restore_step(step_dir: Path) -> Any:
    """What an Orbax step folder holds, read back as saved (PyTreeRestore, no target).

    A step of a CheckpointManager holds one folder per item; a Checkpointer's folder or a
    Flax step is the pytree itself. Raises ValueError unless exactly one pytree is there.
    """
    import orbax.checkpoint as ocp

    if (step_dir / layout.PYTREE_METADATA_FILE).exists():
        item = step_dir
    else:
        items = sorted(p for p in step_dir.iterdir()
                       if p.is_dir() and (p / layout.PYTREE_METADATA_FILE).exists())
        if len(items) != 1:
            raise ValueError(f'expected one saved item in step folder {step_dir.name}, '
                             f'found {[p.name for p in items]}')
        item = items[0]
    with ocp.PyTreeCheckpointer() as ckptr:
        return _quietly(ckptr.restore, item, args=ocp.args.PyTreeRestore())


def _finished_steps(directory: Path) -> list:
    if not directory.is_dir():
        return []
    return [s for s in scan.list_steps(directory)[1] if s.status == 'kept']


@contextlib.contextmanager
def _flax_backend(use_orbax: bool) -> Iterator[None]:
    import flax
    before = flax.config.flax_use_orbax_checkpointing
    flax.config.update('flax_use_orbax_checkpointing', use_orbax)
    try:
        yield
    finally:
        flax.config.update('flax_use_orbax_checkpointing', before)


def _steps_text(steps: list[int] | tuple[int, ...]) -> str:
    return str(list(steps))


# --- exercise 1: the training loop (notebook 01) ---------------------------------------------

TRAINING_LOOP = 'Exercise 1 · training loop'
LOOP_DIR = './tmp/loop'  # what the legacy code passes, relative to the folder it runs in
LOOP_STEPS = (0, 1, 2, 3, 4)


def _loop_tree() -> list:
    return [7, {'foo': 'workshop', 'bar': np.array([3, 1, 4])}, [2, 7, 1]]


def _loop_target() -> list:
    return [0, {'foo': '', 'bar': np.array([0, 0, 0])}, [0, 0, 0]]


@functools.lru_cache(maxsize=None)
def _legacy_loop() -> dict:
    directory = runtime.workdir('exercise_1_flax')  # Flax refuses relative paths today too
    _quietly(legacy_training_loop, str(directory), _loop_tree(), list(LOOP_STEPS))
    steps = _finished_steps(directory)
    raw = _quietly(checkpoints.restore_checkpoint, directory, target=None,
                   step=steps[-1].step, prefix='test_')
    return {'kept': tuple(s.step for s in steps), 'names': tuple(s.name for s in steps),
            'restored': serialization.from_state_dict(_loop_target(), raw)}


@progress.recorded('training_loop')
def check_training_loop(fn: Callable) -> Verdict:
    """Exercise 1: `fn(ckpt_dir, tree, steps)` saves `tree` at every step, like
    `legacy_training_loop`. `ckpt_dir` is the legacy relative './tmp/loop'; `fn` runs with
    the working directory set to a fresh folder, so './tmp/loop' lands inside it.

    Checked: it ran, every save finished, the steps kept and their folder names equal
    Flax's, and the newest step restores equal to what Flax restores.
    """
    title = TRAINING_LOOP
    if is_stub(fn):
        return _not_attempted(title, fn)
    legacy = _legacy_loop()
    root = runtime.workdir('exercise_1_yours')
    last = LOOP_STEPS[-1]
    with contextlib.chdir(root), _watch_commits(
            root, delay=lambda step: COMMIT_DELAY_S if step == last else 0.0):
        run = _run(fn, LOOP_DIR, _loop_tree(), list(LOOP_STEPS))
        unfinished = _tmp_names(root)
        _settle(root, unwaited=bool(unfinished) or run.error is not None)
    early = _error_or_unwaited(title, run, root, unfinished)
    if early is not None:
        return early
    directory = root / LOOP_DIR
    steps = _finished_steps(directory)
    if not steps:
        return _failed(title, [Hint('no-steps', f"no finished step in ckpt_dir ('{LOOP_DIR}', "
                                    'relative to the folder your function runs in): save every '
                                    'step there')])
    kept = tuple(s.step for s in steps)
    names = tuple(s.name for s in steps)
    hints = []
    if kept != legacy['kept']:
        if kept == (0, 2, 3, 4):
            key = 'keep-period'
            why = 'keep_period is not keep_every_n_steps (see 06: FlaxRetention)'
        else:
            key, why = 'retention', ('give the manager preservation_policy=FlaxRetention(keep=3, '
                   'keep_every_n_steps=2), Flax\'s rule (see 06)')
        hints.append(Hint(key, f'you kept steps {_steps_text(kept)}; Flax kept '
                          f'{_steps_text(legacy["kept"])}: {why}'))
    flax_name = dict(zip(legacy['kept'], legacy['names']))
    mine = dict(zip(kept, names))
    common = [s for s in kept if s in flax_name] or [None]
    step = common[-1]
    yours_name = mine[step] if step is not None else names[-1]
    theirs = flax_name[step] if step is not None else legacy['names'][-1]
    if yours_name != theirs:
        why = ("Orbax adds the underscore, use step_prefix='test'" if '__' in yours_name
               else "use step_prefix='test' (Orbax adds the underscore)")
        hints.append(Hint('step-prefix', f'your step folders are named {yours_name}; Flax names '
                          f'them {theirs}: {why}'))
    hints += _restore_hints(directory / names[-1], kept[-1], legacy['restored'], root)
    if hints:
        return _failed(title, hints)
    return Verdict(title, 'passed',
                   f'same steps as Flax {_steps_text(kept)}, same folder names '
                   f'({names[0]} … {names[-1]}), and step {kept[-1]} restores equal to Flax\'s')


# --- exercise 2: pure save and load (notebook 02) --------------------------------------------

PURE_SAVE_LOAD = 'Exercise 2 · pure save and load'
PURE_DIR = './tmp/pure'


def _pure_trees() -> tuple[list, list]:
    first = [7, {'foo': 'workshop', 'bar': np.array([3, 1, 4])}, [2, 7, 1]]
    second = [8, {'foo': 'saved again', 'bar': np.array([1, 5, 9])}, [2, 6, 5]]
    return first, second


@functools.lru_cache(maxsize=None)
def _legacy_pure() -> tuple:
    directory = str(runtime.workdir('exercise_2_flax'))
    return tuple(_quietly(legacy_save_and_load, directory, tree, _loop_target())
                 for tree in _pure_trees())


@progress.recorded('pure_save_load')
def check_pure_save_load(fn: Callable) -> Verdict:
    """Exercise 2: `fn(ckpt_dir, tree, target)` saves `tree` (no manager, no steps) and
    returns it restored into `target`'s structure, like `legacy_save_and_load`.

    Called twice on the same relative './tmp/pure' (in a fresh working folder), with two
    different trees: the legacy `overwrite=True` replaces the first save, so must `fn`.
    """
    title = PURE_SAVE_LOAD
    if is_stub(fn):
        return _not_attempted(title, fn)
    legacy = _legacy_pure()
    root = runtime.workdir('exercise_2_yours')
    results, unfinished, error, call = [], [], None, 0
    with contextlib.chdir(root), _watch_commits(root):
        for call, tree in enumerate(_pure_trees(), start=1):
            run = _run(fn, PURE_DIR, tree, _loop_target())
            unfinished = _tmp_names(root)
            if run.error is not None or unfinished:
                error = run.error
                break
            results.append(run.result)
        _settle(root, unwaited=bool(unfinished) or run.error is not None)
    if error is not None:
        if call == 2 and 'already exists' in str(error):
            return _error_verdict(title, run, root, Hint(
                'needs-force', 'your second save to the same path failed '
                "(it already exists): Flax's overwrite=True is Orbax's force=True"))
        return _error_verdict(title, run, root)
    if unfinished:
        return _failed(title, [_forgot_wait_hint(unfinished[-1])])
    for call, (flax_result, yours) in enumerate(zip(legacy, results), start=1):
        if yours is None:
            return _failed(title, [Hint('returned-none',
                                        'your function returned None: return the restored tree')])
        if compare(flax_result, yours).equal:
            continue
        if call == 2 and compare(legacy[0], yours).equal:
            return _failed(title, [Hint('first-tree-returned',
                                        'your second call returned the first tree: the second '
                                        "save did not replace the first (Flax's overwrite=True "
                                        "is Orbax's force=True)")])
        if _is_list_to_dict(flax_result, yours):
            return _failed(title, [LIST_TO_DICT_HINT])
        return _failed(title, [Hint('result-differs', f'call {call} returned something else than '
                                    'Flax: '
                                    + _first_difference(flax_result, yours, 'Flax', 'yours'))])
    if not (root / PURE_DIR).exists():
        return _failed(title, [Hint('nothing-saved',
                                    f"nothing was saved at ckpt_dir ('{PURE_DIR}'): save there")])
    return Verdict(title, 'passed',
                   'both saves restore equal to Flax\'s, and the second replaced the first '
                   "(Flax's overwrite=True is Orbax's force=True)")


# --- exercise 3: restore without a target (notebook 03) --------------------------------------

RESTORE_WITHOUT_TARGET = 'Exercise 3 · restore without a target'
RESTORE_STEPS = (0, 1, 2)


def _step_tree(step: int) -> list:
    return [10 + step, {'foo': f'step {step}', 'bar': np.array([step, step + 1])},
            [step, 2 * step, 3 * step]]


@functools.lru_cache(maxsize=None)
def _legacy_restore() -> Any:
    directory = runtime.workdir('exercise_3_flax')
    for step in RESTORE_STEPS:
        _quietly(checkpoints.save_checkpoint, directory, _step_tree(step), step=step, keep=3)
    return _quietly(legacy_restore_latest, directory)


def _saved_by_yesterdays_job(directory: Path) -> None:
    import orbax.checkpoint as ocp

    with ocp.CheckpointManager(directory) as mngr:
        for step in RESTORE_STEPS:
            mngr.save(step, args=ocp.args.PyTreeSave(_step_tree(step)))


@progress.recorded('restore_without_target')
def check_restore_without_target(fn: Callable) -> Verdict:
    """Exercise 3: `fn(ckpt_dir)` returns the newest step of an Orbax `CheckpointManager`
    directory (steps 0, 1, 2 saved with `PyTreeSave` by another process), without a target,
    like `legacy_restore_latest` did for Flax's checkpoints.

    Checked: no "could not be restored" warning (a fresh manager needs `args=`), the newest
    step, and the containers as saved (Flax's target=None turns lists into dicts).
    """
    title = RESTORE_WITHOUT_TARGET
    if is_stub(fn):
        return _not_attempted(title, fn)
    legacy = _legacy_restore()
    root = runtime.workdir('exercise_3_yours')
    _saved_by_yesterdays_job(root)
    run = _run(fn, root)
    if run.error is not None:
        return _error_verdict(title, run, root)
    latest = RESTORE_STEPS[-1]
    expected = _step_tree(latest)
    if any('could not be restored' in line for line in run.logs):
        return _failed(title, [Hint('restore-without-args',
                                    'you restored without args: a fresh CheckpointManager does not '
                                    'know what item "default" holds (Orbax warned "could not be '
                                    'restored"): pass args=ocp.args.PyTreeRestore()')])
    if run.result is None:
        return _failed(title, [Hint('returned-none',
                                    'your function returned None: return the restored tree')])
    if compare(expected, run.result).equal:
        return Verdict(title, 'passed',
                       f'step {latest} comes back as saved, lists included',
                       ("Flax's restore_checkpoint(target=None) gave the list back as a "
                        'dict with keys ' + ', '.join(repr(k) for k in legacy),))
    if _is_list_to_dict(expected, run.result):
        return _failed(title, [LIST_TO_DICT_HINT])
    for step in RESTORE_STEPS[:-1]:
        if compare(_step_tree(step), run.result).equal:
            return _failed(title, [Hint('not-latest-step',
                                        f'you restored step {step}; restore_checkpoint restores '
                                        f'the latest step ({latest}): use mngr.latest_step()')])
    return _failed(title, [Hint('result-differs', f'your result differs from step {latest}: '
                                + _first_difference(expected, run.result, 'saved', 'yours'))])


# --- exercise 4: async saves (notebook 04) ---------------------------------------------------

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


def _blocked(commits: _Commits, calls: list[float], steps: tuple[int, ...]) -> bool | None:
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
    with _watch_commits(directory) as commits:
        _quietly(legacy_async_training_loop, directory, _async_params(), list(ASYNC_STEPS),
                 train_step)
    steps = _finished_steps(directory)
    restored = _quietly(checkpoints.restore_checkpoint, directory, target=_async_params())
    return {'kept': tuple(s.step for s in steps), 'restored': restored,
            'blocked': _blocked(commits, train_step.calls, ASYNC_STEPS)}


@progress.recorded('async_save')
def check_async_save(fn: Callable) -> Verdict:
    """Exercise 4: `fn(ckpt_dir, params, steps, train_step)` runs the loop of
    `legacy_async_training_loop` with Orbax: `params = train_step(params)`, then a save
    that does not block the loop, every step; all saves finished when `fn` returns.

    Checked by order, not by time: the first and last commits are held back by COMMIT_DELAY_S;
    a save that blocks commits before the next train_step call, an async one after it.
    """
    title = ASYNC_SAVE
    if is_stub(fn):
        return _not_attempted(title, fn)
    legacy = _legacy_async()
    root = runtime.workdir('exercise_4_yours')
    train_step = _TrainStep()
    held_back = {ASYNC_STEPS[0], ASYNC_STEPS[-1]}
    with _watch_commits(root, delay=lambda step: COMMIT_DELAY_S if step in held_back else 0.0
                        ) as commits:
        run = _run(fn, root, _async_params(), list(ASYNC_STEPS), train_step)
        unfinished = _tmp_names(root)
        _settle(root, unwaited=bool(unfinished) or run.error is not None)
    if run.error is not None:
        return _error_verdict(title, run, root)
    if len(train_step.calls) != len(ASYNC_STEPS):
        return _failed(title, [Hint('train-step-calls',
                                    f'your loop called train_step {len(train_step.calls)} times '
                                    f'for {len(ASYNC_STEPS)} steps: call it once per step, like '
                                    'the legacy loop')])
    if unfinished:
        return _failed(title, [_forgot_wait_hint(unfinished[-1])])
    blocked = _blocked(commits, train_step.calls, ASYNC_STEPS)
    if blocked is None:
        return _failed(title, [Hint('no-manager-save',
                                    'no Orbax save committed a step per step in ckpt_dir: save '
                                    'every step with an ocp.CheckpointManager')])
    hints = []
    if blocked:
        hints.append(Hint('blocking-save',
                          'your save blocked the loop for as long as a synchronous save: use '
                          "CheckpointManager's async save (and wait once, after the loop)"))
    steps = _finished_steps(root)
    kept = tuple(s.step for s in steps)
    if kept != legacy['kept']:
        hints.append(Hint('retention', f'you kept steps {_steps_text(kept)}; Flax kept '
                          f'{_steps_text(legacy["kept"])}: keep=2 keeps the newest 2 '
                          '(preservation_policy=LatestN(2), or max_to_keep=2)'))
    if steps:
        hints += _restore_hints(root / steps[-1].name, kept[-1], legacy['restored'], root)
    if hints:
        return _failed(title, hints)
    flax_line = ("Flax's save_checkpoint(async_manager=AsyncManager()) blocked the loop while "
                 'it wrote' if legacy['blocked'] else "Flax's save did not block the loop")
    return Verdict(title, 'passed',
                   f'the loop went on while each save was written, all saves finished, steps '
                   f'{_steps_text(kept)} kept like Flax, and step {kept[-1]} restores equal '
                   "to Flax's", (flax_line,))


# --- exercise 5: a single array (notebook 05) -------------------------------------------------

SINGLE_ARRAY = 'Exercise 5 · a single array'


def _single_array():
    import jax.numpy as jnp
    return jnp.arange(12, dtype=jnp.float32) * 0.5


@functools.lru_cache(maxsize=None)
def _legacy_array() -> Any:
    directory = str(runtime.workdir('exercise_5_flax'))
    with _flax_backend(use_orbax=False):  # the bare array needs the msgpack writer
        return _quietly(legacy_single_array, directory, _single_array())


@progress.recorded('single_array')
def check_single_array(fn: Callable) -> Verdict:
    """Exercise 5: `fn(ckpt_dir, arr)` saves one bare array under `ckpt_dir` and returns
    it restored, like `legacy_single_array` (which ran on Flax's msgpack backend).

    Checked: the call works, nothing is left unfinished, and the result is the bare array
    with Flax's values, shape and dtype (not wrapped in a dict).
    """
    title = SINGLE_ARRAY
    if is_stub(fn):
        return _not_attempted(title, fn)
    legacy = _legacy_array()
    root = runtime.workdir('exercise_5_yours')
    with _watch_commits(root):
        run = _run(fn, root, _single_array())
        unfinished = _tmp_names(root)
        _settle(root, unwaited=bool(unfinished) or run.error is not None)
    early = _error_or_unwaited(title, run, root, unfinished)
    if early is not None:
        return early
    if not any(root.iterdir()):
        return _failed(title, [Hint('nothing-saved',
                                    'nothing was saved under ckpt_dir: save the array there')])
    result = run.result
    if result is None:
        return _failed(title, [Hint('returned-none',
                                    'your function returned None: return the restored array')])
    if not hasattr(result, 'shape') or not hasattr(result, 'dtype'):
        return _failed(title, [Hint('wrapped-array',
                                    f'you returned a {type(result).__name__}, not the array: the '
                                    'legacy code got the bare array back; save it with ArraySave '
                                    'instead of wrapping it')])
    if not compare(legacy, result).equal:
        return _failed(title, [Hint('result-differs', 'your array differs from Flax\'s: '
                                    + _first_difference(legacy, result, 'Flax', 'yours'))])
    return Verdict(title, 'passed',
                   "the bare array comes back equal to Flax's (values, shape and dtype)")


# --- one entry point -------------------------------------------------------------------------

EXERCISES: dict[str, tuple[Callable[[Callable], Verdict], Callable]] = {
    'training_loop': (check_training_loop, legacy_training_loop),
    'pure_save_load': (check_pure_save_load, legacy_save_and_load),
    'restore_without_target': (check_restore_without_target, legacy_restore_latest),
    'async_save': (check_async_save, legacy_async_training_loop),
    'single_array': (check_single_array, legacy_single_array),
}


def check_exercise(name: str, fn: Callable) -> Verdict:
    """Check `fn` against exercise `name` (a key of `EXERCISES`).

    >>> check_exercise('single_array', lambda d, a: None).status  # a lambda is an attempt
    'failed'
    """
    if name not in EXERCISES:
        raise KeyError(f'no exercise {name!r}; there are {sorted(EXERCISES)}')
    return EXERCISES[name][0](fn)


def legacy_source(name: str) -> str:
    """The legacy code of exercise `name`, as the checker runs it.

    >>> print(legacy_source('restore_without_target'))
    def legacy_restore_latest(ckpt_dir):
        return checkpoints.restore_checkpoint(ckpt_dir, target=None)
    """
    return textwrap.dedent(inspect.getsource(EXERCISES[name][1])).rstrip()

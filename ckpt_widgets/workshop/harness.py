"""Running the learner's function and judging what it left: stub detection, a log capturer,
the Orbax commit watcher, settling background work, and the hints every check shares.

Async saves are judged by ORDER, not by duration: while the learner's code runs, every Orbax
commit (the rename of `<step>.orbax-checkpoint-tmp` to `<step>`) is recorded and, where the
check needs it, held back for `COMMIT_DELAY_S` like a slow disk.

>>> run = run_learner(lambda: 1 / 0)
>>> error_headline(run.error)
'ZeroDivisionError: division by zero'
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import dataclasses
import inspect
import logging
import os
import re
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

from ckpt_widgets import names, scan, upstream
from ckpt_widgets.errors import error_headline
from ckpt_widgets.pytrees import compare

from .verdict import Verdict, failed_verdict

COMMIT_DELAY_S = 0.25  # a "slow disk": how long a watched commit is held back
SETTLE_TIMEOUT_S = 5.0


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


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def captured() -> Iterator[list[str]]:
    """Collect (never print) the absl/Orbax log records and Python warnings of a block."""
    handler = Records()
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
class LearnerRun:
    result: Any = None
    error: BaseException | None = None
    logs: list[str] = dataclasses.field(default_factory=list)
    threads_before: frozenset[int] = frozenset()

    def left_a_waiting_thread(self) -> bool:
        """Whether the run left an Orbax save thread waiting for a signal that never comes:
        what a failed `CheckpointManager.save` (StandardSave of a str leaf) does, and what
        makes the interpreter hang at exit (notebook 09). Ask after `settle`."""
        return bool(signal_threads() - self.threads_before)


def signal_threads() -> frozenset[int]:
    import threading
    return frozenset(t.ident for t in threading.enumerate()
                     if t.is_alive() and not t.daemon and '_target_setting_result' in t.name)


EXIT_HANG_NOTE = ('note: this failed save left an Orbax thread waiting (the exit hang of '
                  'notebook 09): a script would not exit now; restart this kernel when done (see 13)')


def error_or_unwaited(title: str, run: LearnerRun, root: Path, unfinished: list[str]) -> Verdict | None:
    """The verdict when the learner's code raised or left a save unfinished, else None."""
    if run.error is not None:
        return error_verdict(title, run, root)
    if unfinished:
        return failed_verdict(title, [forgot_wait_hint(unfinished[-1])])
    return None


def error_verdict(title: str, run: LearnerRun, root: Path, hint: str | None = None) -> Verdict:
    details = (EXIT_HANG_NOTE,) if run.left_a_waiting_thread() else ()
    return failed_verdict(title, [hint or error_hint(run.error, root)], details)


def run_learner(fn: Callable, *args: Any) -> LearnerRun:
    run = LearnerRun(threads_before=signal_threads())
    with captured() as logs:
        try:
            run.result = fn(*args)
        except Exception as e:  # the learner's bug becomes a hint, not a traceback
            run.error = e
    run.logs = logs
    return run


@dataclasses.dataclass
class Commits:
    """Orbax commits seen under `root`: (final folder name, step or None, time), in order."""

    root: Path
    events: list[tuple[str, int | None, float]] = dataclasses.field(default_factory=list)

    def time_of(self, step: int) -> float | None:
        return next((t for _, s, t in self.events if s == step), None)


@contextlib.contextmanager
def watch_commits(root: Path, delay: Callable[[int | None], float] = lambda step: 0.0
                   ) -> Iterator[Commits]:
    """Record every Orbax commit of a checkpoint under `root`, holding some back by `delay`.

    Every Orbax save (Checkpointer, AsyncCheckpointer, CheckpointManager, v1 and Flax's
    Orbax backend) ends in `atomicity.on_commit_callback`, which writes commit_success.txt
    and renames the tmp folder; the wrapper runs in the save's own (background) thread.
    """
    atomicity = upstream.orbax_atomicity()

    commits = Commits(root)
    original = atomicity.on_commit_callback

    async def on_commit_callback(tmp_dir, **kwargs):
        final = Path(os.path.abspath(os.fspath(tmp_dir.get_final())))
        mine = final == root or root in final.parents
        step = names.step_of(final.name) if mine else None
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


def tmp_names(root: Path) -> list[str]:
    """Unfinished Orbax saves under `root`, outermost only, paths relative to `root`."""
    found = []
    for folder, dirs, _ in os.walk(root):
        for name in sorted(dirs):
            if names.is_tmp_name(name):
                found.append(os.path.relpath(os.path.join(folder, name), root))
        dirs[:] = [d for d in dirs if not names.is_tmp_name(d)]
    return sorted(found)


def listing(root: Path) -> tuple[str, ...]:
    return tuple(sorted(os.path.relpath(os.path.join(f, n), root)
                        for f, ds, fs in os.walk(root) for n in ds + fs))


def settle(root: Path, unwaited: bool, quiet_for: float = COMMIT_DELAY_S + 0.3) -> None:
    """Wait until background work under `root` is over, so nothing changes after a verdict.

    Done when no unfinished folder is left, or when nothing changed for `quiet_for` seconds
    (a failed save leaves its tmp folder for ever). After an `unwaited` save, the manager
    nobody closed also deletes old steps after its commit: wait for the quiet period then.
    """
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    last, since = None, time.monotonic()
    while time.monotonic() < deadline and (unwaited or tmp_names(root)):
        now = listing(root)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_for:
            return
        time.sleep(0.02)


def plain_tmp(name: str) -> str:
    """`4.orbax-checkpoint-tmp-1732...` -> `4.orbax-checkpoint-tmp` (stable text)."""
    return re.sub(r'(orbax-checkpoint-tmp)-\d+$', r'\1', name)


# --- shared hints ----------------------------------------------------------------------------

RELATIVE_HINT = 'your directory is relative: Orbax needs an absolute path (os.path.abspath(ckpt_dir))'
STR_LEAF_HINT = ('StandardSave refuses str leaves: use PyTreeSave '
                 '(ocp.args.PyTreeSave / PyTreeRestore, or ocp.PyTreeCheckpointer)')
LIST_TO_DICT_HINT = ("your restore turned the list into a dict with keys '0', '1', ...: "
                     "that is Flax's restore_checkpoint(target=None); Orbax's PyTreeRestore keeps lists")


def error_hint(error: BaseException, root: Path) -> str:
    """The specific hint for a known mistake's exception, else the exception itself."""
    message = str(error)
    if 'Checkpoint path should be absolute' in message:
        return RELATIVE_HINT
    if "Unsupported type: <class 'str'>" in message:
        return STR_LEAF_HINT
    if 'does not support single arrays' in message:
        return ('StandardSave refuses a single array: use ocp.args.ArraySave / ArrayRestore '
                '(or ocp_v1.save / ocp_v1.load)')
    if 'Orbax backend only accept pytree' in message:
        return ("that is the legacy call, and today's Flax refuses a bare array "
                "(\"Orbax backend only accept pytree\"): use ocp.args.ArraySave / ArrayRestore")
    return f'your function raised {error_headline(error, root)}'


def forgot_wait_hint(tmp: str) -> str:
    name = plain_tmp(os.path.basename(tmp))
    step = names.step_of(name)
    what = f'step {step} is still {name}' if step is not None else f'{name} is still unfinished'
    return (f'you forgot to wait for the async save: {what} '
            '(call wait_until_finished() or use `with`)')


def restore_hints(path: Path, step: int, expected: Any, root: Path) -> list[str]:
    """[] when the step at `path` restores to `expected` (what Flax restored), else the hint."""
    try:
        restored = restore_step(path)
    except Exception as e:  # noqa: BLE001 - the learner's checkpoint may be anything
        return [f'step {step} does not restore: {error_headline(e, root)}']
    if compare(expected, restored).equal:
        return []
    return [f'step {step} does not restore to what Flax restores: '
            + first_difference(expected, restored, 'Flax', 'yours')]


def first_difference(a: Any, b: Any, left: str, right: str) -> str:
    d = compare(a, b, left, right).differences[0]
    shown = f' ({d.left} vs {d.right})' if d.left and d.right and d.status != 'container differs' else ''
    return f'{d.path or "(root)"}: {d.status}{shown}'


def is_list_to_dict(expected: Any, got: Any) -> bool:
    """Same values, but some lists of `expected` are dicts keyed '0', '1', ... in `got`."""
    differences = compare(expected, got).differences
    return bool(differences) and all(d.status == 'container differs' for d in differences)


def quietly(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    with captured():
        return fn(*args, **kwargs)


def restore_step(step_dir: Path) -> Any:
    """What an Orbax step folder holds, read back as saved (PyTreeRestore, no target).

    A step of a CheckpointManager holds one folder per item; a Checkpointer's folder or a
    Flax step is the pytree itself. Raises ValueError unless exactly one pytree is there.
    """
    import orbax.checkpoint as ocp

    items = [p for p in names.pytree_item_dirs(step_dir) if (p / names.PYTREE_METADATA_FILE).exists()]
    if len(items) != 1:
        raise ValueError(f'expected one saved item in step folder {step_dir.name}, '
                         f'found {[p.name for p in items]}')
    item = items[0]
    with ocp.PyTreeCheckpointer() as ckptr:
        return quietly(ckptr.restore, item, args=ocp.args.PyTreeRestore())


def finished_steps(directory: Path) -> list:
    if not directory.is_dir():
        return []
    return [s for s in scan.list_steps(directory)[1] if s.status == 'kept']


def steps_text(steps: list[int] | tuple[int, ...]) -> str:
    return str(list(steps))

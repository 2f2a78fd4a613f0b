"""Convert a legacy Flax checkpoint directory into an Orbax CheckpointManager directory.

Every step keeps its number. With `like=abstract_state` each step is written as today's
`mngr.save(step, args=ocp.args.StandardSave(state))` writes your train state, so the folder
is simply your run's checkpoint folder: resume into it and restore every step with one
`StandardRestore(abstract_state)`:

    report = convert_legacy('/ckpts/flax_run', '/ckpts/orbax_run', like=abstract_state)
    with ocp.CheckpointManager('/ckpts/orbax_run') as mngr:
      state = mngr.restore(mngr.latest_step(), args=ocp.args.StandardRestore(abstract_state))

Without `like`, the converted tree is Flax's *state dict*: exactly what
`flax.training.checkpoints.restore_checkpoint(path, target=None)` returned, with
numpy arrays. So lists and tuples appear as dicts keyed '0', '1', ... (msgpack
cannot tell them apart and Flax always restored them this way); put it back into
your train state with `flax.serialization.from_state_dict(state, restored)` (below), as
`restore_checkpoint(..., target=state)` did. One change: NumPy scalars (np.float32(2.0))
become 0-d arrays, because Orbax would hand them back as Python floats.

    report = convert_legacy('/ckpts/flax_run', '/ckpts/orbax_run')
    print(report)                 # one line per step
    target = flax.serialization.to_state_dict(state)
    with ocp.CheckpointManager('/ckpts/orbax_run') as mngr:
      restored = mngr.restore(mngr.latest_step(), args=ocp.args.PyTreeRestore(item=target))
    state = flax.serialization.from_state_dict(state, restored)

Pass `item=target` as above: Flax's Orbax backend stored empty nodes such as optax's
`EmptyState()` as None, and restoring into the target's shape brings them back.

Command line (exit status 0: all converted; 1: some step failed; 2: bad arguments):

    python -m ckpt_widgets.migrate.convert SRC DST [--like mypkg.train:initial_state]
                                           [--prefix checkpoint_] [--force] [--no-progress]

The source is only read. Each step is verified by restoring it from DST and
comparing it leaf by leaf (values bit for bit, dtypes, Python types) before it is
recorded in DST/flax_conversion.json; re-running skips recorded steps whose
source has not changed, so an interrupted conversion resumes.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from concurrent import futures
from typing import Any

import jax
import numpy as np

from ckpt_widgets import names
from ckpt_widgets.migrate.cli import parse_convert_args
from ckpt_widgets.migrate.legacy import (
  CONVERSION_LEDGER,
  LegacyStep,
  SkippedEntry,
  classify_flax_entries,
  read_flax_state_dict,
)
from ckpt_widgets.names import ORBAX_MANAGER, ORBAX_V1, detect_format
from ckpt_widgets.pytrees import leaves_equal
from ckpt_widgets.render import human_size
from ckpt_widgets.shown import Shown

__all__ = [
    'ConversionReport',
    'DestinationNotEmptyError',
    'StepOutcome',
    'convert_legacy',
    'detect_format',
    'main',
]

CONVERTED = 'converted'
ALREADY_CONVERTED = 'already converted'
FAILED = 'failed'


class DestinationNotEmptyError(FileExistsError):
    """DST holds something other than an earlier conversion of the same source."""


@dataclasses.dataclass(frozen=True)
class StepOutcome:
    """What happened to one source step. `detail` says why a step failed."""

    step: int
    source: str
    source_format: str
    status: str  # CONVERTED, ALREADY_CONVERTED or FAILED
    size_bytes: int = 0
    seconds: float = 0.0
    detail: str = ''


@dataclasses.dataclass(repr=False)
class ConversionReport(Shown):
    """Per-step outcomes of `convert_legacy`; `text` (and `print(report)`) is the table.

    >>> ConversionReport('/a', '/b', 'empty').exit_code  # nothing converted
    1
    """

    source: str
    destination: str
    source_format: str
    steps: list[StepOutcome] = dataclasses.field(default_factory=list)
    skipped: list[SkippedEntry] = dataclasses.field(default_factory=list)
    like: str = ''  # type name of `like=`, '' for Flax's state dict

    @property
    def how_to_restore(self) -> str:
        """One line: how the converted steps restore, and what new saves will look like."""
        if self.like:
            return (f'Steps hold the {self.like} as StandardSave writes it: restore every step, '
                    'converted or saved later, with ocp.args.StandardRestore(abstract_state).')
        return ("Steps hold Flax's state dict (lists as dicts keyed '0', '1'): restore with "
                'PyTreeRestore(item=to_state_dict(state)) + from_state_dict; StandardSave(state) '
                'into DST writes another structure, so convert with like=state (--like) to resume there.')

    @property
    def failed(self) -> list[StepOutcome]:
        return [s for s in self.steps if s.status == FAILED]

    @property
    def lost_entries(self) -> list[SkippedEntry]:
        """Skipped entries that look like real Flax steps Orbax cannot hold."""
        return [s for s in self.skipped if s.is_error]

    @property
    def ok(self) -> bool:
        """True when every Flax step in the source is in DST and verified."""
        return bool(self.steps) and not self.failed and not self.lost_entries

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    @property
    def text(self) -> str:
        lines = [f'{self.source} ({self.source_format}) -> {self.destination}']
        rows = [('step', 'source', 'format', 'size', 'result')]
        for s in self.steps:
            result = s.status if s.status != CONVERTED else f'converted, verified ({s.seconds:.2f} s)'
            if s.detail:
                result += f': {s.detail}'
            rows.append((str(s.step), s.source, s.source_format, human_size(s.size_bytes), result))
        for entry in self.skipped:
            label = 'NOT CONVERTED: ' if entry.is_error else 'skipped: '
            rows.append(('-', entry.name, '', '', label + entry.reason))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            lines.append('  '.join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + '  ' + row[4])
        counts = {k: sum(s.status == k for s in self.steps) for k in (CONVERTED, ALREADY_CONVERTED, FAILED)}
        summary = (
            f'{counts[CONVERTED]} converted, {counts[ALREADY_CONVERTED]} already converted, '
            f'{counts[FAILED] + len(self.lost_entries)} failed, {len(self.skipped)} entries skipped'
        )
        if not self.steps:
            summary += ' (no Flax steps found: is the prefix right?)'
        if any(s.status != FAILED for s in self.steps):
            lines.append(self.how_to_restore)
        lines.append(summary)  # last, so scripts can read the counts with `tail -1`
        return '\n'.join(lines)


# ---------------------------------------------------------------- verification


def _describe(leaf: Any) -> str:
    if isinstance(leaf, np.ndarray):
        return f'ndarray {leaf.dtype}{list(leaf.shape)}'
    return f'{type(leaf).__name__} {leaf!r}'[:80]


def tree_differences(expected: Any, actual: Any, limit: int = 3) -> list[str]:
    """Returns up to `limit` human-readable differences; [] means identical.

    >>> tree_differences({'a': np.zeros(2)}, {'a': np.zeros(2, np.float32)})
    ["at ['a']: expected ndarray float64[2], got ndarray float32[2]"]
    """
    expected_leaves, expected_def = jax.tree_util.tree_flatten_with_path(expected)
    actual_leaves, actual_def = jax.tree_util.tree_flatten_with_path(actual)
    if expected_def != actual_def:
        return [f'tree structure differs: expected {expected_def}, got {actual_def}'[:400]]
    problems = []
    for (path, e), (_, a) in zip(expected_leaves, actual_leaves, strict=False):
        if not leaves_equal(e, a, bitwise=True):  # bit for bit: NaN payloads and -0.0 survive
            problems.append(f'at {jax.tree_util.keystr(path)}: expected {_describe(e)}, got {_describe(a)}')
            if len(problems) >= limit:
                break
    return problems


# ---------------------------------------------------------------- ledger


def _read_ledger(dst: str) -> dict[str, Any] | None:
    try:
        with open(os.path.join(dst, CONVERSION_LEDGER)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # A torn ledger only costs re-verification, never data.


def _write_ledger(dst: str, ledger: dict[str, Any]) -> None:
    path = os.path.join(dst, CONVERSION_LEDGER)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(ledger, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # Atomic: a crash leaves the old or the new ledger.


# ---------------------------------------------------------------- conversion


def _checked_paths(src: str | os.PathLike, dst: str | os.PathLike) -> tuple[str, str]:
    src, dst = os.path.abspath(os.fspath(src)), os.path.abspath(os.fspath(dst))
    if not os.path.exists(src):
        raise FileNotFoundError(f'source directory does not exist: {src}')
    if not os.path.isdir(src):
        raise NotADirectoryError(
            f'source is a file, not a directory: {src}; pass the directory that holds the checkpoints'
        )
    if os.path.exists(dst) and not os.path.isdir(dst):
        raise NotADirectoryError(f'destination exists and is not a directory: {dst}')
    real_src, real_dst = os.path.realpath(src), os.path.realpath(dst)
    common = os.path.commonpath([real_src, real_dst])
    if common in (real_src, real_dst):
        raise ValueError(
            f'source and destination must not contain each other: {src} and {dst}'
        )
    return src, dst


def _orbax():
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    logging.getLogger('absl').setLevel(logging.ERROR)
    return ocp


def _open_manager(dst: str, like: Any = None):
    ocp = _orbax()
    options = ocp.CheckpointManagerOptions(
        create=True,
        # Keep every step: retention was decided when Flax wrote the source.
        max_to_keep=None,
        # Removes unfinished steps left by an interrupted earlier run.
        cleanup_tmp_directories=True,
        enable_async_checkpointing=False,
    )
    if like is not None:
        # Exactly what the user's training code writes with StandardSave: same handler, options.
        return ocp.CheckpointManager(dst, options=options)
    # No zstd: float weights barely compress (256 -> 237 MiB measured) and compression
    # took 60% of the write time. Readers need no option to read uncompressed steps.
    handler = ocp.PyTreeCheckpointHandler(
        use_compression=False, type_handler_registry=_no_copy_registry())
    return ocp.CheckpointManager(dst, options=options, item_handlers=handler)


def _no_copy_registry():
    """Orbax's default leaf handlers, except numpy arrays are written without a copy first.

    Orbax deep-copies host arrays in case the caller changes them while an async save runs
    (18% of the conversion's time, measured). Here nothing changes them: each save is waited
    for before the tree is dropped.
    """
    ocp = _orbax()
    th = ocp.type_handlers
    scalar = th.ScalarHandler()
    return th.create_type_handler_registry(
        (int, scalar), (float, scalar), (bytes, scalar), (np.number, scalar),
        (np.ndarray, th.NumpyHandler(deepcopy_host_arrays=False)),
        (jax.Array, th.ArrayHandler()), (str, th.StringHandler()),
    )


# ---------------------------------------------------------------- like=


def _with_empty_nodes(target: Any, source: Any) -> Any:
    """`source` with None where `target` has an empty dict replaced by {}.

    Flax's Orbax backend stored empty nodes such as optax's EmptyState() as None, and
    `from_state_dict` wants their state dict, {}.
    """
    if source is None and isinstance(target, dict) and not target:
        return {}
    if isinstance(source, dict) and isinstance(target, dict):
        return {k: _with_empty_nodes(target.get(k), v) for k, v in source.items()}
    return source


def _keys_like_lacks(target: Any, source: Any, where: str = '') -> list[str]:
    """Paths the source holds that `target` (like='s state dict) has no place for.

    `from_state_dict` ignores them, and a conversion must not drop data quietly.
    """
    if not (isinstance(source, dict) and isinstance(target, dict)):
        return []
    missing = [f'{where}/{k}' for k in source if k not in target]
    for k in source:
        if k in target:
            missing += _keys_like_lacks(target[k], source[k], f'{where}/{k}')
    return missing


def _leaf_like(path: Any, target: Any, value: Any) -> Any:
    """`value` as the kind of leaf `target` is: jax.Array on its sharding, ndarray, scalar."""
    where = jax.tree_util.keystr(path)
    array = np.asarray(value)
    is_array_target = isinstance(target, (jax.Array, jax.ShapeDtypeStruct, np.ndarray, np.generic))
    if is_array_target and isinstance(value, (bool, int, float)) and array.dtype != target.dtype:
        # A Python number (Flax saved `step=0` before the first update) takes like='s dtype
        # when it fits exactly: int64 0 -> int32 0.
        exact = np.asarray(value, dtype=target.dtype)
        if exact.item() == value:
            array = exact
    if is_array_target:
        if array.shape != tuple(target.shape) or array.dtype != target.dtype:
            raise ValueError(
                f'at {where}: the step holds {array.dtype}{list(array.shape)}, like= has '
                f'{target.dtype}{list(target.shape)}'
            )
        if isinstance(target, np.generic):
            return target.dtype.type(array)
        if isinstance(target, np.ndarray):
            return array
        sharding = getattr(target, 'sharding', None)
        return jax.device_put(array, sharding) if sharding is not None else jax.device_put(array)
    if isinstance(target, (bool, int, float)):
        if array.shape:
            raise ValueError(f'at {where}: the step holds {array.dtype}{list(array.shape)}, '
                             f'like= has a {type(target).__name__}')
        return type(target)(array.item())
    return value


def state_like(like: Any, state_dict: Any) -> Any:
    """Flax's state dict of a legacy step, in the structure, leaf kinds and shardings of `like`.

    `like` is the train state (or its abstract form, jax.ShapeDtypeStruct leaves with
    shardings) that today's training code saves with StandardSave. Raises ValueError naming
    the first leaf whose shape or dtype differs, or the keys that do not match.

    >>> state_like({'w': np.zeros(2, np.float32)}, {'w': np.ones(2, np.float32)})
    {'w': array([1., 1.], dtype=float32)}
    """
    from flax import serialization  # pylint: disable=g-import-not-at-top

    target = serialization.to_state_dict(like)
    filled = _with_empty_nodes(target, state_dict)
    extra = _keys_like_lacks(target, filled)
    if extra:
        raise ValueError(f'the step does not fit like=: like= has no {", ".join(extra[:3])}')
    try:
        tree = serialization.from_state_dict(like, filled)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError(f'the step does not fit like=: {type(e).__name__}: {e}') from e
    return jax.tree_util.tree_map_with_path(_leaf_like, like, tree)


def _like_differences(written: Any, restored: Any) -> list[str]:
    """tree_differences, plus the kind of each leaf and each jax.Array's sharding."""
    def numpy(tree):
        return jax.tree.map(lambda x: np.asarray(x) if isinstance(x, jax.Array) else x, tree)

    problems = tree_differences(numpy(written), numpy(restored))
    if problems:
        return problems
    written_leaves = jax.tree_util.tree_flatten_with_path(written)[0]
    for (path, w), r in zip(written_leaves, jax.tree.leaves(restored), strict=True):
        if type(w) is not type(r) and not (isinstance(w, jax.Array) and isinstance(r, jax.Array)):
            return [f'at {jax.tree_util.keystr(path)}: wrote {type(w).__name__}, restored {type(r).__name__}']
        if isinstance(w, jax.Array) and not w.sharding.is_equivalent_to(r.sharding, w.ndim):
            return [f'at {jax.tree_util.keystr(path)}: wrote sharding {w.sharding}, restored {r.sharding}']
    return []


def _like_key(like: Any) -> str:
    """What the ledger records of `like=`: its tree, shapes and dtypes ('' for none)."""
    if like is None:
        return ''
    shapes = jax.tree.map(lambda x: f'{getattr(x, "dtype", type(x).__name__)}{list(np.shape(x))}', like)
    return hashlib.sha256(repr((jax.tree.structure(like), jax.tree.leaves(shapes))).encode()).hexdigest()[:16]


def load_like(spec: str) -> Any:
    """The state named by a `module:callable` spec (the callable is called with no arguments).

    The current directory is importable, as with `python -m`. Raises ValueError (TypeError when
    the name is not callable) with one line.

    >>> load_like('collections:OrderedDict')
    OrderedDict()
    """
    module_name, _, attr = spec.partition(':')
    if not module_name or not attr:
        raise ValueError(f'--like wants module:callable (e.g. mypkg.train:initial_state), got {spec!r}')
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except ImportError as e:
        raise ValueError(f'--like {spec}: cannot import {module_name}: {e}') from e
    except AttributeError as e:
        raise ValueError(f'--like {spec}: {module_name} has no {attr}') from e
    if not callable(target):
        raise TypeError(f'--like {spec}: {attr} is not callable')
    try:
        return target()
    except Exception as e:  # Whatever the user's code raises, the CLI prints one line.
        raise ValueError(f'--like {spec}: {attr}() raised {type(e).__name__}: {e}') from e


def orbax_ready_state_dict(tree: Any) -> Any:
    """Returns `tree` with NumPy scalars as 0-d arrays, the form the conversion writes.

    Orbax restores a saved np.float32 scalar as a Python float, losing its dtype.

    >>> orbax_ready_state_dict({'lr': np.float32(0.5)})
    {'lr': array(0.5, dtype=float32)}
    """
    return jax.tree.map(lambda x: np.asarray(x) if isinstance(x, np.generic) else x, tree)


def _read_for_writing(step: LegacyStep, like: Any) -> Any:
    """The tree to write for `step`: Flax's state dict, or that state dict in `like`'s form."""
    state_dict = read_flax_state_dict(step)
    return orbax_ready_state_dict(state_dict) if like is None else state_like(like, state_dict)


def _convert_one(manager, step: LegacyStep, tree: Any, like: Any = None) -> str:
    """Writes `tree` as `step` and verifies it by restoring; returns a problem or ''."""
    ocp = _orbax()
    if like is None:
        save, restore_args = ocp.args.PyTreeSave(tree), ocp.args.PyTreeRestore()
        differences = tree_differences
    else:
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, tree)
        save, restore_args = ocp.args.StandardSave(tree), ocp.args.StandardRestore(abstract)
        differences = _like_differences
    if step.step in manager.all_steps():
        manager.delete(step.step)  # Ours but unverified, or --force replacing it.
    # force=True: a manager otherwise silently skips steps older than its latest one,
    # which happens on resume and with --force.
    if not manager.save(step.step, args=save, force=True):
        return f'Orbax CheckpointManager declined to save step {step.step}'
    manager.wait_until_finished()
    restored = manager.restore(step.step, args=restore_args)
    problems = differences(tree, restored)
    if problems:
        manager.delete(step.step)  # Never leave a step that does not match its source.
        return 'verification failed, step removed from DST: ' + '; '.join(problems)
    return ''


def _fingerprint_and_read(step: LegacyStep, like: Any) -> tuple[dict[str, int], Any, str]:
    """(fingerprint, tree, problem): the fingerprint is taken before reading, so a source
    rewritten meanwhile is converted again on the next run rather than recorded as done."""
    fingerprint = step.fingerprint()
    try:
        return fingerprint, _read_for_writing(step, like), ''
    except Exception as e:  # noqa: BLE001 - one bad step must not stop the others
        return fingerprint, None, _problem(e)


def _problem(e: Exception) -> str:
    return str(e) if isinstance(e, ValueError) else f'{type(e).__name__}: {e}'


def _progress_bar(total: int, enabled: bool):
    from tqdm.auto import tqdm  # pylint: disable=g-import-not-at-top

    return tqdm(
        total=total, unit='B', unit_scale=True, unit_divisor=1024, file=sys.stderr,
        # Long runs only: short conversions print nothing but the report.
        delay=2.0, disable=not (enabled and sys.stderr.isatty()), leave=False,
    )


def convert_legacy(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    prefix: str = names.FLAX_DEFAULT_PREFIX,
    overwrite: bool = False,
    progress: bool = True,
    like: Any = None,
) -> ConversionReport:
    """Converts every Flax step in `src` into an Orbax CheckpointManager directory `dst`.

    `src` is never written to. A non-empty `dst` is refused unless it holds an earlier
    conversion of `src` (then finished steps are skipped) or `overwrite=True` (then
    steps with the same numbers are replaced; nothing else in `dst` is touched). A
    step that cannot be read or verified is reported and the others still convert.

    >>> report = convert_legacy('/ckpts/flax_run', '/ckpts/orbax_run')  # doctest: +SKIP
    >>> report.ok, [s.step for s in report.steps]                       # doctest: +SKIP
    (True, [100, 200, 300])
    """
    src, dst = _checked_paths(src, dst)
    source_format = detect_format(src, prefix)
    if source_format in (ORBAX_MANAGER, ORBAX_V1):
        raise ValueError(f'{src} is already an Orbax directory ({source_format}); nothing to convert')
    steps, skipped = classify_flax_entries(src, prefix)
    report = ConversionReport(src, dst, source_format, skipped=skipped)

    ledger = _read_ledger(dst) if os.path.isdir(dst) else None
    like_key = _like_key(like)
    resumable = (bool(ledger) and ledger.get('source') == src and ledger.get('prefix') == prefix
                 and ledger.get('like', '') == like_key)
    if os.path.isdir(dst) and os.listdir(dst) and not (resumable or overwrite):
        what = 'a conversion of another source' if ledger else f'{len(os.listdir(dst))} entries'
        raise DestinationNotEmptyError(
            f'destination is not empty: {dst} holds {what}; choose an empty or new '
            'directory, or pass overwrite=True (--force) to write steps into it'
        )
    if not resumable:
        ledger = {'source': src, 'prefix': prefix, 'steps': {}}
    if like_key:
        ledger['like'] = like_key
    if like is not None:
        report.like = type(like).__name__

    manager = _open_manager(dst, like)
    bar = _progress_bar(sum(s.size_bytes() for s in steps), progress)
    # Reading step n+1 (file I/O and msgpack decoding) overlaps writing and verifying step n.
    reader = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix='convert-read')
    try:
        on_disk = set(manager.all_steps())
        done = {s.step: s.fingerprint() for s in steps
                if s.step in on_disk and str(s.step) in ledger['steps']}
        todo = [s for s in steps if ledger['steps'].get(str(s.step)) != done.get(s.step, False)]
        reads = {s.step: reader.submit(_fingerprint_and_read, s, like) for s in todo[:1]}
        for step in steps:
            bar.set_postfix_str(step.name, refresh=False)
            if step.step not in reads:
                report.steps.append(StepOutcome(
                    step.step, step.name, step.format, ALREADY_CONVERTED, done[step.step]['size']))
                bar.update(done[step.step]['size'])
                continue
            start = time.perf_counter()
            fingerprint, tree, problem = reads.pop(step.step).result()
            following = todo[todo.index(step) + 1:todo.index(step) + 2]
            for later in following:
                reads[later.step] = reader.submit(_fingerprint_and_read, later, like)
            ledger['steps'].pop(str(step.step), None)
            if not problem:
                try:
                    problem = _convert_one(manager, step, tree, like)
                except Exception as e:  # noqa: BLE001 - one bad step must not stop the others
                    problem = _problem(e)
            del tree  # Only one step's tree (plus the next one being read) in memory.
            seconds = time.perf_counter() - start
            if problem:
                report.steps.append(StepOutcome(
                    step.step, step.name, step.format, FAILED, fingerprint['size'], seconds, problem))
            else:
                ledger['steps'][str(step.step)] = fingerprint
                _write_ledger(dst, ledger)
                report.steps.append(StepOutcome(
                    step.step, step.name, step.format, CONVERTED, fingerprint['size'], seconds))
            bar.update(fingerprint['size'])
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
        bar.close()
        manager.close()
    return report


# ---------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status.

    >>> main(['/no/such/dir', '/tmp/out'])  # doctest: +SKIP
    2
    """
    args = parse_convert_args(sys.argv[1:] if argv is None else argv,
                              prog='python -m ckpt_widgets.migrate.convert')
    return args if isinstance(args, int) else run(args)


def run(args: argparse.Namespace) -> int:
    """Converts what `parse_convert_args` parsed; prints the report, returns the exit status."""
    try:
        like = load_like(args.like) if args.like else None
        report = convert_legacy(
            args.src, args.dst, prefix=args.prefix, overwrite=args.force,
            progress=not args.no_progress, like=like,
        )
    except (OSError, ValueError, TypeError) as e:
        print(f'convert: error: {e}', file=sys.stderr)
        return 2
    print(report)
    return report.exit_code


if __name__ == '__main__':
    sys.exit(main())

"""Convert a legacy Flax checkpoint directory into an Orbax CheckpointManager directory.

Every step keeps its number. The converted tree is Flax's *state dict*: exactly what
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

    python -m ckpt_widgets.migrate.convert SRC DST [--prefix checkpoint_] [--force] [--no-progress]

The source is only read. Each step is verified by restoring it from DST and
comparing it leaf by leaf (values bit for bit, dtypes, Python types) before it is
recorded in DST/flax_conversion.json; re-running skips recorded steps whose
source has not changed, so an interrupted conversion resumes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from typing import Any, Sequence

import jax
import numpy as np

from ckpt_widgets import names
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
      rows.append(('-', entry.name, '', '', ('NOT CONVERTED: ' if entry.is_error else 'skipped: ') + entry.reason))
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
    lines.append(summary)
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


def _open_manager(dst: str):
  ocp = _orbax()
  options = ocp.CheckpointManagerOptions(
      create=True,
      # Keep every step: retention was decided when Flax wrote the source.
      max_to_keep=None,
      # Removes unfinished steps left by an interrupted earlier run.
      cleanup_tmp_directories=True,
      enable_async_checkpointing=False,
  )
  # No zstd: float weights barely compress (256 -> 237 MiB measured) and compression
  # took 60% of the write time. Readers need no option to read uncompressed steps.
  handler = ocp.PyTreeCheckpointHandler(use_compression=False)
  return ocp.CheckpointManager(dst, options=options, item_handlers=handler)


def orbax_ready_state_dict(tree: Any) -> Any:
  """Returns `tree` with NumPy scalars as 0-d arrays, the form the conversion writes.

  Orbax restores a saved np.float32 scalar as a Python float, losing its dtype.

  >>> orbax_ready_state_dict({'lr': np.float32(0.5)})
  {'lr': array(0.5, dtype=float32)}
  """
  return jax.tree.map(lambda x: np.asarray(x) if isinstance(x, np.generic) else x, tree)


def _convert_one(manager, step: LegacyStep) -> tuple[int, str]:
  """Writes and verifies one step; returns (bytes, problem or '')."""
  ocp = _orbax()
  tree = orbax_ready_state_dict(read_flax_state_dict(step))
  if step.step in manager.all_steps():
    manager.delete(step.step)  # Ours but unverified, or --force replacing it.
  # force=True: a manager otherwise silently skips steps older than its latest one,
  # which happens on resume and with --force.
  if not manager.save(step.step, args=ocp.args.PyTreeSave(tree), force=True):
    return 0, f'Orbax CheckpointManager declined to save step {step.step}'
  manager.wait_until_finished()
  restored = manager.restore(step.step, args=ocp.args.PyTreeRestore())
  problems = tree_differences(tree, restored)
  if problems:
    manager.delete(step.step)  # Never leave a step that does not match its source.
    return 0, 'verification failed, step removed from DST: ' + '; '.join(problems)
  return step.size_bytes(), ''


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
  resumable = bool(ledger) and ledger.get('source') == src and ledger.get('prefix') == prefix
  if os.path.isdir(dst) and os.listdir(dst) and not (resumable or overwrite):
    what = 'a conversion of another source' if ledger else f'{len(os.listdir(dst))} entries'
    raise DestinationNotEmptyError(
        f'destination is not empty: {dst} holds {what}; choose an empty or new '
        'directory, or pass overwrite=True (--force) to write steps into it'
    )
  if not resumable:
    ledger = {'source': src, 'prefix': prefix, 'steps': {}}

  manager = _open_manager(dst)
  bar = _progress_bar(sum(s.size_bytes() for s in steps), progress)
  try:
    on_disk = set(manager.all_steps())
    for step in steps:
      bar.set_postfix_str(step.name, refresh=False)
      fingerprint = step.fingerprint()
      if ledger['steps'].get(str(step.step)) == fingerprint and step.step in on_disk:
        report.steps.append(StepOutcome(
            step.step, step.name, step.format, ALREADY_CONVERTED, fingerprint['size']))
        bar.update(fingerprint['size'])
        continue
      ledger['steps'].pop(str(step.step), None)
      start = time.perf_counter()
      try:
        size, problem = _convert_one(manager, step)
      except Exception as e:  # One bad step must not stop the others.
        size, problem = 0, str(e) if isinstance(e, ValueError) else f'{type(e).__name__}: {e}'
      seconds = time.perf_counter() - start
      if problem:
        report.steps.append(StepOutcome(
            step.step, step.name, step.format, FAILED, fingerprint['size'], seconds, problem))
      else:
        ledger['steps'][str(step.step)] = fingerprint
        _write_ledger(dst, ledger)
        report.steps.append(StepOutcome(step.step, step.name, step.format, CONVERTED, size, seconds))
      bar.update(fingerprint['size'])
  finally:
    bar.close()
    manager.close()
  return report


# ---------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog='python -m ckpt_widgets.migrate.convert',
      description=(
          'Convert a legacy Flax checkpoint directory (msgpack files or Orbax-backend '
          'directories written by flax.training.checkpoints.save_checkpoint) into an '
          'Orbax CheckpointManager directory with the same step numbers. SRC is only '
          'read. Each step is verified after writing. Re-running resumes.'
      ),
      epilog='exit status: 0 all steps converted, 1 some step not converted, 2 bad arguments',
  )
  parser.add_argument('src', metavar='SRC', help='directory holding <prefix><step> checkpoints')
  parser.add_argument('dst', metavar='DST', help='new or empty directory for the Orbax checkpoints')
  parser.add_argument('--prefix', default=names.FLAX_DEFAULT_PREFIX, help="step name prefix (default: %(default)s)")
  parser.add_argument('--force', action='store_true', 
                      help='write into a non-empty DST, replacing steps with the same numbers')
  parser.add_argument('--no-progress', action='store_true', 
                      help='no progress bar (it is off anyway when stderr is not a terminal)')
  return parser


def main(argv: Sequence[str] | None = None) -> int:
  """Command-line entry point; returns the exit status.

  >>> main(['/no/such/dir', '/tmp/out'])  # doctest: +SKIP
  2
  """
  args = _parser().parse_args(argv)
  try:
    report = convert_legacy(
        args.src, args.dst, prefix=args.prefix, overwrite=args.force,
        progress=not args.no_progress,
    )
  except (OSError, ValueError) as e:
    print(f'convert: error: {e}', file=sys.stderr)
    return 2
  print(report)
  return report.exit_code


if __name__ == '__main__':
  sys.exit(main())

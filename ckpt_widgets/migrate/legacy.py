"""What a checkpoint directory holds, and reading legacy Flax steps as Flax state dicts.

Flax's `save_checkpoint` writes one entry per step, named `<prefix><step>`:
a msgpack file (`flax_use_orbax_checkpointing=False`, or flax < 0.7) or an Orbax
PyTree directory (the default since). A directory may hold both kinds if the
backend changed mid-run. Nothing here writes to disk.

    >>> detect_format('/tmp/run/checkpoints')          # doctest: +SKIP
    'flax-msgpack'
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Any

from ckpt_widgets import names
from ckpt_widgets.read_step import read_legacy_step

FLAX_MSGPACK = names.FORMAT_FLAX_MSGPACK
FLAX_ORBAX = names.FORMAT_FLAX_ORBAX
FLAX_MIXED = names.FORMAT_FLAX_MIXED
# Flax on orbax-checkpoint < 0.5 (flax 0.7.x's default): `_METADATA` plus one aggregate
# `checkpoint` file holding the values, no OCDBT. Today's Orbax still reads it.
ORBAX_AGGREGATE = names.FORMAT_ORBAX_AGGREGATE
AGGREGATE_FILE = names.AGGREGATE_FILE
ORBAX_MANAGER = names.FORMAT_ORBAX_MANAGER
ORBAX_V1 = names.FORMAT_ORBAX_V1
EMPTY = names.FORMAT_EMPTY
UNKNOWN = names.FORMAT_UNKNOWN

CONVERSION_LEDGER = names.CONVERSION_LEDGER_FILE

# Files that mark a directory as an Orbax PyTree checkpoint (same test as
# flax.training.checkpoints._is_orbax_checkpoint).
_ORBAX_PYTREE_MARKERS = (names.STEP_METADATA_FILE, names.PYTREE_METADATA_FILE, names.OCDBT_MANIFEST_FILE)
# flax.training.checkpoints.SIGNED_FLOAT_RE: what Flax itself parses as a step.
_FLAX_STEP_RE = re.compile(r'[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?')


@dataclasses.dataclass(frozen=True)
class LegacyStep:
  """One Flax step found in a source directory: `path` holds step `step` in `format`."""

  step: int
  name: str
  path: str
  format: str  # FLAX_MSGPACK, FLAX_ORBAX or ORBAX_AGGREGATE

  def size_bytes(self) -> int:
    """Total size of the step's file(s); a directory's files summed."""
    if os.path.isfile(self.path):
      return os.path.getsize(self.path)
    return sum(
        os.path.getsize(os.path.join(root, f))
        for root, _, files in os.walk(self.path)
        for f in files
    )

  def fingerprint(self) -> dict[str, int]:
    """Size and newest mtime: changes when the step is rewritten, cheap to compute."""
    paths = [self.path]
    if os.path.isdir(self.path):
      paths += [os.path.join(r, f) for r, _, fs in os.walk(self.path) for f in fs]
    return {
        'size': self.size_bytes(),
        'mtime_ns': max(os.stat(p).st_mtime_ns for p in paths),
    }


@dataclasses.dataclass(frozen=True)
class SkippedEntry:
  """A directory entry that is not converted, and why. `is_error` marks lost steps."""

  name: str
  reason: str
  is_error: bool = False


def _is_orbax_pytree_dir(path: str) -> bool:
  return any(os.path.exists(os.path.join(path, m)) for m in (names.PYTREE_METADATA_FILE, names.OCDBT_MANIFEST_FILE))


def _pytree_dir_format(path: str) -> str:
  """ORBAX_AGGREGATE for a pytree folder written by Orbax < 0.5, else FLAX_ORBAX."""
  if os.path.isfile(os.path.join(path, AGGREGATE_FILE)) and not os.path.exists(
      os.path.join(path, names.OCDBT_MANIFEST_FILE)):
    return ORBAX_AGGREGATE
  return FLAX_ORBAX


def classify_flax_entries(
    directory: str, prefix: str = names.FLAX_DEFAULT_PREFIX
) -> tuple[list[LegacyStep], list[SkippedEntry]]:
  """Returns (steps in step order, entries that are not steps), for a Flax directory.

  Unfinished saves, hidden files and other prefixes are skipped silently-but-reported;
  names Flax would treat as steps that Orbax cannot hold (1.5, -3, duplicates) are
  skipped with `is_error=True`, so the caller never drops a checkpoint quietly.

  >>> classify_flax_entries('/tmp/run')  # doctest: +SKIP
  ([LegacyStep(step=100, name='checkpoint_100', ...)], [SkippedEntry('notes.txt', ...)])
  """
  steps: dict[int, LegacyStep] = {}
  skipped: list[SkippedEntry] = []
  for name in sorted(os.listdir(directory)):
    path = os.path.join(directory, name)
    suffix = name[len(prefix):] if name.startswith(prefix) else None
    if name == CONVERSION_LEDGER:
      skipped.append(SkippedEntry(name, 'conversion ledger, not a step'))
    elif name.startswith('.'):
      skipped.append(SkippedEntry(name, 'hidden entry'))
    elif suffix is None:
      skipped.append(SkippedEntry(name, f'name does not start with {prefix!r}'))
    elif suffix == 'tmp':
      skipped.append(SkippedEntry(name, 'unfinished Flax save (never renamed to a step)'))
    elif names.is_tmp_name(name):
      skipped.append(SkippedEntry(name, 'unfinished Orbax save (temporary directory)'))
    elif suffix.endswith(names.FLAX_MP_ARRAY_SUFFIX):
      skipped.append(SkippedEntry(name, 'multiprocess-array data of a Flax step'))
    elif re.fullmatch(r'\d+', suffix):
      step = int(suffix)
      if step in steps:
        skipped.append(SkippedEntry(
            name, f'duplicate step {step} (also {steps[step].name}); not converted', True))
      elif os.path.isfile(path):
        steps[step] = LegacyStep(step, name, path, FLAX_MSGPACK)
      elif os.path.isdir(path) and _is_orbax_pytree_dir(path):
        steps[step] = LegacyStep(step, name, path, _pytree_dir_format(path))
      else:
        skipped.append(SkippedEntry(
            name, 'directory is not an Orbax checkpoint (no _METADATA or manifest.ocdbt)', True))
    elif _FLAX_STEP_RE.fullmatch(suffix):
      skipped.append(SkippedEntry(
          name, f'step {suffix!r} is not an integer >= 0; Orbax steps are, so it is not converted', True))
    else:
      skipped.append(SkippedEntry(name, 'no step number after the prefix'))
  return [steps[s] for s in sorted(steps)], skipped


def _step_dirs_with_items(directory: str) -> list[str]:
  """Subdirectories that look like Orbax manager steps: metadata plus item folders."""
  found = []
  for name in sorted(os.listdir(directory)):
    path = os.path.join(directory, name)
    if (
        os.path.isdir(path)
        and os.path.isfile(os.path.join(path, names.STEP_METADATA_FILE))
        and not _is_orbax_pytree_dir(path)
    ):
      found.append(path)
  return found


def _written_by_v1(step_dir: str) -> bool:
  try:
    with open(os.path.join(step_dir, names.STEP_METADATA_FILE)) as f:
      handlers = json.load(f).get('item_handlers') or {}
  except (OSError, ValueError):
    return False
  return any('.experimental.v1.' in str(h) for h in handlers.values())


def detect_format(path: str | os.PathLike, prefix: str = names.FLAX_DEFAULT_PREFIX) -> str:
  """Returns which checkpoint format a directory holds.

  One of 'flax-msgpack', 'flax-orbax', 'orbax-0.4-aggregate' (Flax on Orbax < 0.5, e.g.
  flax 0.7.5 with orbax-checkpoint 0.4.8), 'flax-mixed' (msgpack files and Orbax folders),
  'orbax-manager', 'orbax-v1', 'empty' or 'unknown'.

  >>> import tempfile
  >>> detect_format(tempfile.mkdtemp())
  'empty'
  """
  path = os.fspath(path)
  if not os.path.exists(path):
    raise FileNotFoundError(f'no such directory: {path}')
  if not os.path.isdir(path):
    raise NotADirectoryError(f'not a directory: {path}')
  if not os.listdir(path):
    return EMPTY
  if os.path.isfile(os.path.join(path, 'orbax.checkpoint')):
    return ORBAX_V1  # A single checkpoint written by v1 `ocp.save`.
  manager_steps = _step_dirs_with_items(path)
  if manager_steps:
    return ORBAX_V1 if all(map(_written_by_v1, manager_steps)) else ORBAX_MANAGER
  steps, _ = classify_flax_entries(path, prefix)
  formats = {s.format for s in steps}
  if formats == {FLAX_MSGPACK}:
    return FLAX_MSGPACK
  if formats == {ORBAX_AGGREGATE}:
    return ORBAX_AGGREGATE
  if formats and FLAX_MSGPACK not in formats:
    return FLAX_ORBAX  # Orbax folders of both releases: a run that upgraded Orbax mid-way.
  if formats:
    return FLAX_MIXED
  return UNKNOWN


def read_flax_state_dict(step: LegacyStep) -> Any:
  """`read_legacy_step(step.path)`; a damaged step raises ValueError naming the file.

  >>> read_flax_state_dict(LegacyStep(1, 'checkpoint_1', p, 'flax-msgpack'))  # doctest: +SKIP
  {'0': 12, '1': {'bar': array([2, 3]), 'foo': 'str'}, '2': {'0': 1, '1': 4, '2': 10}}
  """
  try:
    return read_legacy_step(step.path)
  except Exception as e:  # msgpack and Orbax/TensorStore raise many unrelated types.
    if step.format == FLAX_MSGPACK:
      raise ValueError(
          f'{step.path}: not a readable Flax msgpack checkpoint ({step.size_bytes()} bytes): '
          f'{type(e).__name__}: {e}'
      ) from e
    raise ValueError(
        f'{step.path}: not a readable Flax Orbax checkpoint: {type(e).__name__}: {e}'
    ) from e

"""Legacy Flax folders: which entries are steps (`classify_flax_entries`), and reading a
legacy step as a Flax state dict. Which format a folder holds is `names.detect_format`.

Flax's `save_checkpoint` writes one entry per step, named `<prefix><step>`:
a msgpack file (`flax_use_orbax_checkpointing=False`, or flax < 0.7) or an Orbax
PyTree directory (the default since). A directory may hold both kinds if the
backend changed mid-run. Nothing here writes to disk.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

from ckpt_widgets import names
from ckpt_widgets.names import FLAX_MSGPACK
from ckpt_widgets.read_step import read_legacy_step

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
    format: str  # names.FLAX_MSGPACK, FLAX_ORBAX or ORBAX_AGGREGATE

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
        """Size and newest mtime: changes when the step is rewritten, cheap to compute (one
        stat per file, the folder's included for its mtime)."""
        top = os.stat(self.path)
        if not os.path.isdir(self.path):
            return {'size': top.st_size, 'mtime_ns': top.st_mtime_ns}
        files = [os.stat(os.path.join(r, f)) for r, _, fs in os.walk(self.path) for f in fs]
        return {'size': sum(st.st_size for st in files),
                'mtime_ns': max([top.st_mtime_ns] + [st.st_mtime_ns for st in files])}


@dataclasses.dataclass(frozen=True)
class SkippedEntry:
    """A directory entry that is not converted, and why. `is_error` marks lost steps."""

    name: str
    reason: str
    is_error: bool = False


def classify_flax_entries(
    directory: str, prefix: str = names.FLAX_DEFAULT_PREFIX
) -> tuple[list[LegacyStep], list[SkippedEntry]]:
    """Returns (steps in step order, entries that are not steps), for a Flax directory.

    Unfinished saves, hidden files and other prefixes are skipped silently-but-reported;
    names Flax would treat as steps that Orbax cannot hold (1.5, -3, duplicates) are
    skipped with `is_error=True`, so the caller never drops a checkpoint quietly.

    >>> import tempfile
    >>> run = tempfile.mkdtemp()
    >>> for name in ('checkpoint_100', 'checkpoint_1.5', 'notes.txt'):
    ...     open(os.path.join(run, name), 'wb').close()
    >>> steps, skipped = classify_flax_entries(run)
    >>> [(s.step, s.format) for s in steps]
    [(100, 'flax-msgpack')]
    >>> [(e.name, e.is_error) for e in skipped]
    [('checkpoint_1.5', True), ('notes.txt', False)]
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
            elif os.path.isdir(path) and names.is_orbax_pytree_dir(path):
                steps[step] = LegacyStep(step, name, path, names.pytree_dir_format(path))
            else:
                skipped.append(SkippedEntry(
                    name, 'directory is not an Orbax checkpoint (no _METADATA or manifest.ocdbt)', True))
        elif _FLAX_STEP_RE.fullmatch(suffix):
            skipped.append(SkippedEntry(
                name, f'step {suffix!r} is not an integer >= 0; Orbax steps are, so it is not converted', True))
        else:
            skipped.append(SkippedEntry(name, 'no step number after the prefix'))
    return [steps[s] for s in sorted(steps)], skipped


def read_flax_state_dict(step: LegacyStep) -> Any:
    """`read_step.read_legacy_step(step.path)`; a damaged step raises ValueError naming the file.

    That is Flax's state dict: lists and tuples become dicts with keys '0', '1', ...,
    arrays are numpy.

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'checkpoint_1')
    >>> with open(path, 'wb') as f:
    ...     _ = f.write(b'not msgpack')
    >>> read_flax_state_dict(LegacyStep(1, 'checkpoint_1', path, 'flax-msgpack'))
    Traceback (most recent call last):
    ...
    ValueError: ...checkpoint_1: not a readable Flax msgpack checkpoint (11 bytes): ...
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

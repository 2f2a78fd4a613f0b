"""What Orbax and Flax name the things they write, and what each name is for.

The naming rules come from Orbax itself (`step_from_checkpoint_name`, imported on first use)
so that a change upstream shows up here, not as a silent mismatch. Orbax's file names are
written out below, so that reading a name needs no Orbax (and no JAX) import: a command's
`--help` answers at once; `tests/views/test_names.py` fails if Orbax renames one. Orbax's
`is_checkpoint_finalized` / `is_tmp_checkpoint` answer the same questions but run an event
loop per call (about 0.2 s each inside a Jupyter kernel), too slow for a view that looks at a
thousand steps, so `step_status` applies their rule to names that were already listed.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

TMP_SUFFIX = '.orbax-checkpoint-tmp'  # orbax.checkpoint.path.atomicity_types.TMP_DIR_SUFFIX
COMMIT_SUCCESS_FILE = 'commit_success.txt'  # atomicity_types.COMMIT_SUCCESS_FILE
PYTREE_METADATA_FILE = '_METADATA'  # orbax.checkpoint.path.format_utils.PYTREE_METADATA_FILE
OCDBT_MANIFEST_FILE = 'manifest.ocdbt'  # format_utils.OCDBT_MANIFEST_FILE
STEP_METADATA_FILE = '_CHECKPOINT_METADATA'
FLAX_DEFAULT_PREFIX = 'checkpoint_'
# Written by ckpt_widgets.migrate.convert next to the converted steps; not a step itself.
CONVERSION_LEDGER_FILE = 'flax_conversion.json'
PROCESS_DIR_GLOB = 'ocdbt.process_*'  # per-process OCDBT folders of a multi-process save
# Orbax < 0.5 (Flax 0.7's default backend) kept small values in one msgpack file named
# `checkpoint` next to `_METADATA`; today's Orbax still reads it but no longer writes it.
AGGREGATE_FILE = 'checkpoint'
# Flax's multiprocess arrays: a placeholder leaf in the msgpack file, the data in <file>_gda
# (flax.training.checkpoints.MP_ARRAY_PH / MP_ARRAY_POSTFIX).
FLAX_MP_ARRAY_PLACEHOLDER = '//GDAPlaceholder:'
FLAX_MP_ARRAY_SUFFIX = '_gda'
AGGREGATE_FILE_ROLE = 'pytree values, Orbax < 0.5 aggregate file'

V1_CHECKPOINT_FILE = 'orbax.checkpoint'  # a single checkpoint written by v1 `ocp.save`

# The one vocabulary for "who wrote this folder" (scan, views, the converter).
EMPTY = 'empty'
FLAX_MSGPACK = 'flax-msgpack'  # Flax save_checkpoint, legacy single msgpack files
FLAX_ORBAX = 'flax-orbax'  # Flax save_checkpoint on its Orbax backend: one pytree folder per step
FLAX_MIXED = 'flax-mixed'  # both Flax kinds in one folder (the backend changed mid-run)
ORBAX_MANAGER = 'orbax-manager'  # CheckpointManager steps (or numbered Checkpointer folders)
ORBAX_V1 = 'orbax-v1'  # orbax.checkpoint.experimental.v1
# Flax on orbax-checkpoint < 0.5 (flax 0.7.x's default backend): `_METADATA` plus one aggregate
# `checkpoint` file per step folder, no OCDBT. Today's Orbax still reads it.
ORBAX_AGGREGATE = 'orbax-0.4-aggregate'
UNKNOWN = 'unknown'  # entries, but no steps
FORMATS = (EMPTY, FLAX_MSGPACK, FLAX_ORBAX, ORBAX_AGGREGATE, FLAX_MIXED, ORBAX_MANAGER, ORBAX_V1, UNKNOWN)

# Roles of well-known names inside a checkpoint.
FILE_ROLES = {
    STEP_METADATA_FILE: 'step metadata',
    COMMIT_SUCCESS_FILE: 'commit marker',
    PYTREE_METADATA_FILE: 'pytree metadata',
    OCDBT_MANIFEST_FILE: 'OCDBT manifest',
    '_sharding': 'sharding metadata',
    '_strings.json': 'string leaves',
    'descriptor.pbtxt': 'descriptor',
    '_ROOT_METADATA': 'root metadata',
    CONVERSION_LEDGER_FILE: 'conversion record',
    '.zarray': 'zarr array metadata',
}
DIR_ROLES = {
    'd': 'OCDBT data',
    'array_metadatas': 'array metadata',
    'descriptor': 'descriptor',
}
# Files whose size changes from run to run: commit_success.txt holds the absolute path,
# _CHECKPOINT_METADATA holds timestamps, the OCDBT files depend on how writes were batched,
# and ckpt_widgets.migrate.convert's record holds the absolute source path.
VOLATILE_FILES = frozenset({COMMIT_SUCCESS_FILE, STEP_METADATA_FILE, OCDBT_MANIFEST_FILE,
                            CONVERSION_LEDGER_FILE})
# Folders whose contents are random names whose count varies: shown as one line.
COLLAPSED_DIRS = frozenset({'d'})

_PROCESS_DIR = re.compile(r'ocdbt\.process_(\d+)')
_PER_PROCESS = re.compile(r'(ocdbt\.)?process_\d+')


def step_of(name: str) -> int | None:
    """The step number Orbax reads from a step folder's name, or None.

    Per-process names (`process_0`, `ocdbt.process_1`) are not steps, though Orbax's
    name pattern alone would read them as step 0 and 1.

    >>> step_of('test__4'), step_of('12'), step_of('7.orbax-checkpoint-tmp-1700000000'), step_of('d')
    (4, 12, 7, None)
    >>> step_of('process_0'), step_of('ocdbt.process_1')
    (None, None)
    """
    if _PER_PROCESS.fullmatch(name):
        return None
    try:
        return _step_from_checkpoint_name(name)
    except ValueError:
        return None


def _step_from_checkpoint_name(name: str) -> int:
    global _STEP_FROM_NAME
    if _STEP_FROM_NAME is None:
        import orbax.checkpoint as ocp
        _STEP_FROM_NAME = ocp.path.step.step_from_checkpoint_name
    return _STEP_FROM_NAME(name)


_STEP_FROM_NAME = None


def is_tmp_name(name: str) -> bool:
    """Whether a name is one Orbax gives a save that has not been committed yet.

    >>> is_tmp_name('3.orbax-checkpoint-tmp-17'), is_tmp_name('3')
    (True, False)
    """
    return TMP_SUFFIX in name


def flax_step_of(name: str, prefix: str = FLAX_DEFAULT_PREFIX) -> int | None:
    """The step of a Flax `save_checkpoint` file or folder name (`<prefix><step>`), or None.

    >>> flax_step_of('checkpoint_200'), flax_step_of('test_4', 'test_'), flax_step_of('checkpoint_tmp')
    (200, 4, None)
    """
    if not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    return int(rest) if re.fullmatch(r'\d+', rest) else None


def process_of(name: str) -> int | None:
    """The process index of a per-process OCDBT folder (`ocdbt.process_3` -> 3), or None."""
    m = _PROCESS_DIR.fullmatch(name)
    return int(m.group(1)) if m else None


def step_status(name: str) -> str:
    """'unfinished' for a step folder Orbax has not committed yet, else 'kept'.

    On a local disk Orbax commits a save by renaming `<step>.orbax-checkpoint-tmp-<ts>` to
    `<step>` (its `is_checkpoint_finalized` rule); `commit_success.txt` is written as well,
    and is what commits on object stores that cannot rename.

    >>> step_status('4.orbax-checkpoint-tmp-1732900000'), step_status('4')
    ('unfinished', 'kept')
    """
    return 'unfinished' if is_tmp_name(name) else 'kept'


def pytree_item_dirs(step_dir: str | os.PathLike) -> list[Path]:
    """The pytree folders of a step: the step itself (a bare pytree save) or its item folders.

    >>> import tempfile
    >>> step = Path(tempfile.mkdtemp())
    >>> for item in ('default', 'extra', '_hidden'):
    ...     (step / item).mkdir()
    >>> [p.name for p in pytree_item_dirs(step)]
    ['default', 'extra']
    >>> (step / PYTREE_METADATA_FILE).touch()
    >>> pytree_item_dirs(step) == [step]
    True
    """
    step_dir = Path(step_dir)
    if (step_dir / PYTREE_METADATA_FILE).exists() or (step_dir / OCDBT_MANIFEST_FILE).exists():
        return [step_dir]  # a bare Checkpointer.save(path) or an item folder
    return sorted(p for p in step_dir.iterdir() if p.is_dir() and not p.name.startswith(('_', '.')))


def is_orbax_pytree_dir(path: str | os.PathLike) -> bool:
    """Whether a folder is one Orbax pytree (its tree metadata or OCDBT manifest is in it)."""
    return any(os.path.exists(os.path.join(path, m)) for m in (PYTREE_METADATA_FILE, OCDBT_MANIFEST_FILE))


def pytree_dir_format(path: str | os.PathLike) -> str:
    """ORBAX_AGGREGATE for a Flax pytree folder written by Orbax < 0.5 (one aggregate
    `checkpoint` file, no OCDBT manifest), else FLAX_ORBAX."""
    if (os.path.isfile(os.path.join(path, AGGREGATE_FILE))
            and not os.path.exists(os.path.join(path, OCDBT_MANIFEST_FILE))):
        return ORBAX_AGGREGATE
    return FLAX_ORBAX


def orbax_step_format(step_dir: str | os.PathLike) -> str:
    """ORBAX_V1 when the v1 API wrote this Orbax step folder (its step metadata names v1
    handlers), else ORBAX_MANAGER."""
    try:
        with open(os.path.join(step_dir, STEP_METADATA_FILE)) as f:
            handlers = json.load(f).get('item_handlers') or {}
    except (OSError, ValueError, AttributeError):
        return ORBAX_MANAGER
    if isinstance(handlers, str):  # one unnamed item: the handler's name itself
        handlers = {'': handlers}
    if not isinstance(handlers, dict):
        return ORBAX_MANAGER
    return ORBAX_V1 if any('.experimental.v1.' in str(h) for h in handlers.values()) else ORBAX_MANAGER


def _manager_step_dirs(directory: str) -> list[str]:
    """Subfolders that look like Orbax manager steps: step metadata plus item folders."""
    found = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if (os.path.isdir(path) and os.path.isfile(os.path.join(path, STEP_METADATA_FILE))
                and not is_orbax_pytree_dir(path)):
            found.append(path)
    return found


def _flax_step_formats(directory: str, prefix: str) -> set[str]:
    """The formats of the Flax steps (`<prefix><int>`) in a folder, first of each step only."""
    seen: set[int] = set()
    formats = set()
    for name in sorted(os.listdir(directory)):
        step = flax_step_of(name, prefix)
        if step is None or step in seen or is_tmp_name(name):
            continue
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            formats.add(FLAX_MSGPACK)
        elif os.path.isdir(path) and is_orbax_pytree_dir(path):
            formats.add(pytree_dir_format(path))
        else:
            continue
        seen.add(step)
    return formats


def detect_format(path: str | os.PathLike, prefix: str = FLAX_DEFAULT_PREFIX) -> str:
    """Which checkpoint format a directory holds, in the one vocabulary (`FORMATS`).

    Reads names and marker files only. Raises FileNotFoundError / NotADirectoryError.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> detect_format(folder)
    'empty'
    >>> open(os.path.join(folder, 'checkpoint_7'), 'wb').close()
    >>> detect_format(folder), detect_format(folder, prefix='test_')
    ('flax-msgpack', 'unknown')
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f'no such directory: {path}')
    if not os.path.isdir(path):
        raise NotADirectoryError(f'not a directory: {path}')
    if not os.listdir(path):
        return EMPTY
    if os.path.isfile(os.path.join(path, V1_CHECKPOINT_FILE)):
        return ORBAX_V1
    manager_steps = _manager_step_dirs(path)
    if manager_steps:
        return ORBAX_V1 if all(orbax_step_format(s) == ORBAX_V1 for s in manager_steps) else ORBAX_MANAGER
    formats = _flax_step_formats(path, prefix)
    if len(formats) == 1:
        return formats.pop()
    if formats and FLAX_MSGPACK not in formats:
        return FLAX_ORBAX  # Orbax folders of both releases: a run that upgraded Orbax mid-way
    return FLAX_MIXED if formats else UNKNOWN

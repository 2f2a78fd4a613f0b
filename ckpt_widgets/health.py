"""Step health: why a step on disk looks damaged, read from names, sizes and headers only.

`diagnose_step(path)` never restores an array and never raises for a damaged or odd step,
so a view can call it on every entry (`RetainedSteps(..., diagnose=diagnose_step)`).

>>> import tempfile
>>> diagnose_step(tempfile.mkdtemp())
'empty step directory'
"""

from __future__ import annotations

import json
import os
import pathlib

from . import names

# OCDBT files (manifest and b-tree nodes) start with a 4-byte magic and the
# whole file's length as a little-endian uint64: a cut or a garbled header
# shows without decoding anything.
OCDBT_MANIFEST_MAGIC = bytes.fromhex('0cdb3a2a')


def _diagnose_msgpack(path: pathlib.Path) -> str | None:
    import msgpack  # pylint: disable=g-import-not-at-top

    size = path.stat().st_size
    if size == 0:
        return 'msgpack file is empty'
    with path.open('rb') as f:
        # skip() walks the structure without building arrays: one read pass.
        unpacker = msgpack.Unpacker(f, max_buffer_size=0)
        try:
            unpacker.skip()
        except msgpack.OutOfData:
            return 'msgpack truncated'
        except (ValueError, msgpack.ExtraData, msgpack.FormatError,
                msgpack.StackError) as e:
            return f'msgpack unreadable: {e}'
        extra = size - unpacker.tell()
    if extra:
        return f'msgpack has {extra} trailing bytes'
    return None


def _diagnose_manifest(manifest: pathlib.Path, label: str) -> str | None:
    size = manifest.stat().st_size
    with manifest.open('rb') as f:
        header = f.read(12)
    if header[:4] != OCDBT_MANIFEST_MAGIC:
        return f'{label} unreadable: not an OCDBT manifest'
    declared = int.from_bytes(header[4:12], 'little')
    if declared != size:
        return f'{label} unreadable: header says {declared} bytes, file has {size}'
    return None


def _diagnose_item(item: pathlib.Path, label: str) -> str | None:
    metadata = item / names.PYTREE_METADATA_FILE
    if not metadata.exists():
        return f'missing {label}_METADATA'
    try:
        json.loads(metadata.read_bytes())
    except ValueError:
        return f'{label}_METADATA is not valid JSON'
    manifest = item / names.OCDBT_MANIFEST_FILE
    if manifest.exists():
        return _diagnose_manifest(manifest, f'{label}manifest.ocdbt')
    if any(item.glob(names.PROCESS_DIR_GLOB)):
        return f'missing {label}manifest.ocdbt'
    return None


def diagnose_step(path: str | os.PathLike) -> str | None:
    """Returns why a step looks damaged, or ``None``; reads headers, never arrays.

    Handles manager step dirs (``<step>/default/...``), bare pytree dirs and
    legacy Flax msgpack files. Never raises for a damaged or odd step: a view
    can call it on every entry. A ``None`` does not prove the data is intact
    (cut or flipped data files only show on restore, or not at all).

    >>> import tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> diagnose_step(folder / '3')
    'does not exist'
    >>> (folder / '3.orbax-checkpoint-tmp').mkdir()
    >>> diagnose_step(folder / '3.orbax-checkpoint-tmp')
    'unfinished save (no commit_success.txt)'
    """
    path = pathlib.Path(path)
    try:
        if not path.exists():
            return 'does not exist'
        if path.is_file():
            return _diagnose_msgpack(path)
        if names.is_tmp_name(path.name):
            return 'unfinished save (no commit_success.txt)'
        items = names.pytree_item_dirs(path)
        if not items:
            return 'empty step directory'
        for item in items:
            label = '' if item == path else f'{item.name}/'
            reason = _diagnose_item(item, label)
            if reason:
                return reason
        return None
    except OSError as e:  # permissions, a vanished file: report, do not crash
        return f'unreadable: {type(e).__name__}: {e}'

"""Restore one step of a checkpoint directory, whatever wrote it, without a target.

Used by the Dashboard to show what a step holds. It reads with the library that wrote the
step: Flax's msgpack reader for legacy files, Orbax's PyTreeCheckpointer for pytree folders,
and one of those per item for CheckpointManager / v1 step folders.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from . import names


def restore_path(path: str | Path) -> Any:
    """The pytree stored at `path`: a Flax msgpack file, an Orbax pytree folder or a step folder.

    A step folder with several items comes back as {item name: tree}; one item, as its tree.
    Raises ValueError naming the path when nothing there can be restored.
    """
    path = Path(path)
    if path.is_file():
        from flax import serialization
        return serialization.msgpack_restore(path.read_bytes())
    if not path.is_dir():
        raise FileNotFoundError(f'{path} does not exist')
    if (path / names.PYTREE_METADATA_FILE).exists():
        return _restore_pytree(path)
    items = {p.name: p for p in sorted(path.iterdir()) if p.is_dir() and not names.is_tmp_name(p.name)}
    restored = {name: _restore_item(item) for name, item in items.items()}
    restored = {k: v for k, v in restored.items() if v is not _NOTHING}
    if not restored:
        raise ValueError(f'{path} holds no pytree, JSON or msgpack item that can be restored')
    return next(iter(restored.values())) if len(restored) == 1 else restored


_NOTHING = object()


def _restore_item(item: Path) -> Any:
    if (item / names.PYTREE_METADATA_FILE).exists():
        return _restore_pytree(item)
    json_file = item / 'metadata'
    if json_file.is_file():
        return json.loads(json_file.read_text())
    return _NOTHING


def _restore_pytree(path: Path) -> Any:
    import orbax.checkpoint as ocp
    # Without a target Orbax restores each array onto the sharding it was saved with and
    # warns that this is unsafe on another topology: that is exactly what a view of "what
    # this step holds" wants, and the warning would land in whatever cell is running.
    with warnings.catch_warnings(), ocp.PyTreeCheckpointer() as checkpointer:
        warnings.filterwarnings('ignore', message='Sharding info not provided')
        return checkpointer.restore(path)

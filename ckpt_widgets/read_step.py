"""Read one step of a checkpoint directory, whatever wrote it, without a target.

The one step reader. A legacy Flax step (a msgpack file, or a pytree folder that Flax's Orbax
backend wrote straight into the step, any Orbax release including the < 0.5 aggregate file)
reads as `read_legacy_step` reads it: Flax's state dict, the tree the converter writes and the
Dashboard shows. CheckpointManager / v1 step folders are read item by item with Orbax.
"""

from __future__ import annotations

import json
import mmap
import os
import warnings
from pathlib import Path
from typing import Any

from . import names


def restore_path(path: str | Path) -> Any:
    """The pytree stored at `path`: a Flax msgpack file, a Flax pytree folder or a step folder.

    A legacy Flax step comes back as Flax's state dict (lists as dicts keyed '0', '1', ...).
    A step folder with several items comes back as {item name: tree}; one item, as its tree.
    Raises ValueError naming the path when nothing there can be restored.
    """
    path = Path(path)
    if path.is_file() or (path / names.PYTREE_METADATA_FILE).exists():
        return read_legacy_step(path)
    if not path.is_dir():
        raise FileNotFoundError(f'{path} does not exist')
    items = {p.name: p for p in sorted(path.iterdir()) if p.is_dir() and not names.is_tmp_name(p.name)}
    restored = {name: _restore_item(item) for name, item in items.items()}
    restored = {k: v for k, v in restored.items() if v is not _NOTHING}
    if not restored:
        raise ValueError(f'{path} holds no pytree, JSON or msgpack item that can be restored')
    return next(iter(restored.values())) if len(restored) == 1 else restored


def read_legacy_step(path: str | os.PathLike) -> Any:
    """The one reading of a legacy Flax step: what `restore_checkpoint(path, target=None)` returns.

    `path` is a msgpack file or a folder Flax wrote on its Orbax backend (any Orbax release,
    the < 0.5 aggregate file included). Both read as Flax's state dict: lists and tuples are
    dicts keyed '0', '1', ..., arrays are numpy. The converter, the Dashboard and
    `ckpt-lab inspect` all read legacy steps here, so they show the same tree. A damaged step
    raises what msgpack or Orbax raise (the converter adds the file and format).

    >>> import os, tempfile
    >>> from flax import serialization
    >>> path = os.path.join(tempfile.mkdtemp(), 'checkpoint_2')
    >>> with open(path, 'wb') as f:  # what Flax's msgpack writer stores for this tree
    ...     _ = f.write(serialization.to_bytes({'step': 2, 'layers': [1, 4]}))
    >>> read_legacy_step(path)
    {'step': 2, 'layers': {'0': 1, '1': 4}}
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        return _msgpack_state_dict(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f'no such checkpoint: {path}')
    return _flax_orbax_state_dict(path)


def _msgpack_state_dict(path: str) -> Any:
    import jax
    from flax import serialization

    # msgpack decodes from the mapped file (already in the page cache) instead of a copy of it:
    # one copy of the step's bytes fewer, and no new memory to fault in for it.
    with open(path, 'rb') as f:
        if os.fstat(f.fileno()).st_size == 0:
            tree = serialization.msgpack_restore(b'')  # mmap refuses an empty file
        else:
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                tree = serialization.msgpack_restore(mapped)
    if any(isinstance(leaf, str) and leaf.startswith(names.FLAX_MP_ARRAY_PLACEHOLDER)
           for leaf in jax.tree.leaves(tree)):
        raise ValueError(
            f'{path}: holds multiprocess arrays stored in {path}{names.FLAX_MP_ARRAY_SUFFIX}; '
            'converting those is not supported')
    return tree


def _flax_orbax_state_dict(path: str) -> Any:
    import jax
    import numpy as np
    from flax.training import checkpoints

    with warnings.catch_warnings():
        # A view of what the step holds wants the saved shardings; the advice is noise here.
        warnings.filterwarnings('ignore', message='Sharding info not provided')
        tree = checkpoints.restore_checkpoint(path, target=None)
    return jax.tree.map(lambda x: np.asarray(x) if isinstance(x, jax.Array) else x, tree)


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

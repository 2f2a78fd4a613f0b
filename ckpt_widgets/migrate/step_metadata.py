"""What one step holds, leaf by leaf, read from Orbax's metadata: no array data is loaded.

For Orbax steps (manager / v1 step folders, Flax-on-Orbax folders, PyTree folders) the
leaves come from `PyTreeCheckpointer().metadata(...)`: shapes, dtypes and the sharding each
array was saved with. A legacy msgpack step is one file with no separate metadata, so it is
read (with Flax's msgpack reader) and described the same way.

    summary = step_summary('/ckpts/run', step=4)
    print(render.pytree_text(summary))
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ckpt_widgets import names, pytrees, scan
from ckpt_widgets.model import Leaf, PytreeSummary


def step_path(directory: str | os.PathLike, step: int | None = None,
              prefix: str | None = None) -> Path:
    """The folder or file of `step` (default: the newest finished one) under `directory`."""
    directory = Path(directory).absolute()  # Orbax reads no metadata through a relative path
    _, steps = scan.list_steps(directory, prefix=prefix)
    finished = [s for s in steps if s.status == 'kept']
    if not finished:
        raise FileNotFoundError(f'{directory}: no finished step')
    if step is None:
        return directory / finished[-1].name
    for s in finished:
        if s.step == step:
            return directory / s.name
    raise FileNotFoundError(
        f'{directory}: no step {step} (steps: {", ".join(str(s.step) for s in finished)})')


def _item_dirs(path: Path) -> dict[str, Path]:
    """{item name ('' for a bare pytree step): folder} of the step's pytree items."""
    return {('' if item == path else item.name): item for item in names.pytree_item_dirs(path)
            if (item / names.PYTREE_METADATA_FILE).exists()}


def _sharding_text(sharding: Any) -> str:
    if sharding is None:
        return ''
    text = type(sharding).__name__.replace('ShardingMetadata', 'Sharding')
    spec = getattr(sharding, 'partition_spec', None)
    mesh = getattr(sharding, 'shape', None)
    if spec is not None:
        text += f'{tuple(spec)}'
    if mesh is not None:
        text += f' mesh {dict(mesh) if hasattr(mesh, "items") else mesh}'
    return re.sub(r' at 0x[0-9a-fA-F]+', '', text)


def _leaf(path: str, meta: Any) -> Leaf:
    shape = getattr(meta, 'shape', None)
    dtype = getattr(meta, 'dtype', None)
    kind = type(meta).__name__
    return Leaf(path=path, type=kind, shape=tuple(shape) if shape is not None else None,
                dtype=str(dtype) if dtype is not None else '',
                sharding=_sharding_text(getattr(meta, 'sharding', None)))


def _orbax_leaves(item: Path, label: str) -> list[Leaf]:
    import jax
    import orbax.checkpoint as ocp
    with ocp.PyTreeCheckpointer() as checkpointer:
        meta = checkpointer.metadata(item)
    tree = getattr(getattr(meta, 'item_metadata', meta), 'tree', None)
    if tree is None:
        tree = getattr(meta, 'item_metadata', meta)
    flat = jax.tree_util.tree_flatten_with_path(tree, is_leaf=lambda x: x is None)[0]
    return [_leaf(label + jax.tree_util.keystr(p), m) for p, m in flat]


def step_summary(directory: str | os.PathLike, step: int | None = None,
                 prefix: str | None = None) -> PytreeSummary:
    """A `PytreeSummary` of one step (the newest by default), from metadata where there is some."""
    path = step_path(directory, step, prefix)
    if path.is_file():
        from flax import serialization
        tree = serialization.msgpack_restore(path.read_bytes())
        return pytrees.summarize(tree, f'{path.name} (msgpack)')
    items = _item_dirs(path)
    if not items:
        raise ValueError(f'{path}: no Orbax pytree metadata in this step')
    leaves: list[Leaf] = []
    for name, item in items.items():
        leaves += _orbax_leaves(item, f'{name}/' if name and len(items) > 1 else '')
    return PytreeSummary(label=path.name, leaves=tuple(leaves))

"""Describe a pytree leaf by leaf, and compare two pytrees leaf by leaf.

`summarize` answers "what came back from this restore?" (path, type, shape, dtype, sharding,
which device holds which shard, a short preview); `compare` answers "is it the same as what
I saved?", structure included: a list that comes back as a dict with keys '0', '1', ... is a
difference, not an equality.
"""

from __future__ import annotations

import re
import string
from typing import Any

import jax
import numpy as np

from .model import Comparison, Leaf, LeafDifference, PytreeSummary

DEFAULT_LIMIT = 200  # leaves described before "... N more"
_ADDRESS = re.compile(r' at 0x[0-9a-fA-F]+')


def _is_none(x: Any) -> bool:
    return x is None


def leaves_with_paths(tree: Any) -> list[tuple[tuple, Any]]:
    """`jax.tree_util.tree_flatten_with_path`, keeping None as a leaf (JAX drops it)."""
    return jax.tree_util.tree_flatten_with_path(tree, is_leaf=_is_none)[0]


def summarize(tree: Any, label: str = '', *, limit: int = DEFAULT_LIMIT) -> PytreeSummary:
    """Describe up to `limit` leaves of `tree`.

    >>> [l.type for l in summarize([12, {'foo': 'str'}, None]).leaves]
    ['int', 'str', 'None']
    """
    flat = leaves_with_paths(tree)
    leaves = tuple(describe_leaf(jax.tree_util.keystr(p), x) for p, x in flat[:limit])
    return PytreeSummary(label=label, leaves=leaves, more=max(len(flat) - limit, 0))


def describe_leaf(path: str, x: Any) -> Leaf:
    """One `Leaf` row for value `x` at `path`."""
    if isinstance(x, jax.Array):
        mesh_shape, devices = shard_layout(x)
        return Leaf(path=path, type='jax.Array', shape=tuple(x.shape), dtype=str(x.dtype),
                    sharding=describe_sharding(x.sharding), mesh_shape=mesh_shape,
                    devices=devices, preview=preview(x))
    if isinstance(x, (np.ndarray, np.generic)):
        kind = 'ndarray' if isinstance(x, np.ndarray) else f'numpy.{type(x).__name__}'
        return Leaf(path=path, type=kind, shape=tuple(np.shape(x)), dtype=str(x.dtype),
                    preview=preview(x))
    return Leaf(path=path, type=type(x).__name__ if x is not None else 'None', preview=preview(x))


def preview(x: Any, width: int = 60) -> str:
    """A short, deterministic one-line preview of a value (no memory addresses)."""
    if isinstance(x, (jax.Array, np.ndarray, np.generic)):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return '(not addressable from this process)'
        text = np.array2string(np.asarray(x), threshold=8, edgeitems=2, precision=4,
                               separator=', ', max_line_width=10_000)
    else:
        text = _ADDRESS.sub('', repr(x))
    text = ' '.join(text.split())
    return text if len(text) <= width else text[: width - 1] + '…'


def describe_sharding(sharding: jax.sharding.Sharding) -> str:
    """A short sharding description: `NamedSharding(x=8) P('x', None)`, `SingleDevice(cpu:0)`."""
    if isinstance(sharding, jax.sharding.NamedSharding):
        axes = ', '.join(f'{n}={s}' for n, s in sharding.mesh.shape.items())
        return f'NamedSharding({axes}) {sharding.spec}'
    if isinstance(sharding, jax.sharding.SingleDeviceSharding):
        (device,) = sharding.device_set
        return f'SingleDevice({device.platform}:{device.id})'
    return type(sharding).__name__


def shard_layout(x: jax.Array) -> tuple[tuple[int, ...], tuple[tuple[int, str], ...]]:
    """(mesh shape, ((device id, shard letter), ...) in mesh order) for a jax.Array.

    Devices holding the same slice get the same letter, so a replicated array reads
    'A A A A' and an array split 8 ways reads 'A B C D E F G H'.
    """
    sharding = x.sharding
    index_map = sharding.devices_indices_map(tuple(x.shape))
    if isinstance(sharding, jax.sharding.NamedSharding):
        ordered = list(sharding.mesh.devices.flat)
        mesh_shape = tuple(sharding.mesh.devices.shape)
    else:
        ordered = sorted(index_map, key=lambda d: d.id)
        mesh_shape = (len(ordered),)
    letters: dict[tuple, str] = {}
    cells = []
    for device in ordered:
        key = tuple((s.start, s.stop, s.step) for s in index_map[device])
        letters.setdefault(key, _letter(len(letters)))
        cells.append((device.id, letters[key]))
    return mesh_shape, tuple(cells)


def _letter(i: int) -> str:
    alphabet = string.ascii_uppercase
    return alphabet[i] if i < len(alphabet) else f'#{i}'


# --- comparison ---------------------------------------------------------------------------

def _key_parts(path: tuple) -> tuple[tuple[str, str], ...]:
    """Each key as (container kind, label): [0] -> ('list', '0'), ['0'] -> ('dict', '0')."""
    parts = []
    for k in path:
        if isinstance(k, jax.tree_util.SequenceKey):
            parts.append(('list', str(k.idx)))
        elif isinstance(k, jax.tree_util.DictKey):
            parts.append(('dict', str(k.key)))
        elif isinstance(k, jax.tree_util.GetAttrKey):
            parts.append(('attr', k.name))
        else:
            parts.append((type(k).__name__, str(getattr(k, 'key', k))))
    return tuple(parts)


def compare(a: Any, b: Any, left: str = 'left', right: str = 'right') -> Comparison:
    """Compare two pytrees leaf by leaf: structure, type, shape, dtype and values.

    Leaves are aligned by their key labels, so `[12]` and `{'0': 12}` line up and show as a
    container difference (list vs dict) rather than as two missing leaves.

    >>> compare([1, 'x'], [1, 'x']).equal
    True
    >>> compare([12], {'0': 12}).differences[0].status
    'container differs'
    """
    left_leaves = _by_labels(a)
    right_leaves = _by_labels(b)
    rows = []
    for labels in _ordered_union(left_leaves, right_leaves):
        if labels not in right_leaves:
            (path, _), x = left_leaves[labels]
            rows.append(LeafDifference(path, f'missing in {right}', preview(x), ''))
        elif labels not in left_leaves:
            (path, _), y = right_leaves[labels]
            rows.append(LeafDifference(path, f'missing in {left}', '', preview(y)))
        else:
            rows.append(_compare_leaf(*left_leaves[labels], *right_leaves[labels]))
    return Comparison(left=left, right=right, rows=tuple(rows))


def trees_equal(a: Any, b: Any, *, bitwise: bool = False) -> bool:
    """Whether two pytrees hold the same data: the one tree equality of the package.

    Same structure (treedef), and leaf by leaf: arrays (numpy or jax, either kind) with the
    same dtype, shape and values, where NaN equals NaN; other leaves of the same type and
    equal (a float NaN equals NaN). `bitwise=True` compares array bytes instead: NaN payloads
    and -0.0 vs 0.0 count, which is what "restored bit for bit" means.

    >>> trees_equal({'w': np.array([0.0, np.nan])}, {'w': np.array([-0.0, np.nan])})
    True
    >>> trees_equal({'w': np.array([0.0, np.nan])}, {'w': np.array([-0.0, np.nan])}, bitwise=True)
    False
    >>> trees_equal([1, 'x'], {'0': 1, '1': 'x'})  # a list is not a dict
    False
    """
    a_leaves, a_def = jax.tree.flatten(a)
    b_leaves, b_def = jax.tree.flatten(b)
    if a_def != b_def:
        return False
    return all(leaves_equal(x, y, bitwise=bitwise) for x, y in zip(a_leaves, b_leaves, strict=True))


def leaves_equal(x: Any, y: Any, *, bitwise: bool = False) -> bool:
    """One leaf of `trees_equal`.

    >>> leaves_equal(np.float32(0.5), np.array(0.5, np.float32)), leaves_equal(1, 1.0)
    (True, False)
    """
    if _category(x) == 'array' or _category(y) == 'array':
        if _category(x) != _category(y):
            return False
        return _arrays_equal(np.asarray(x), np.asarray(y), bitwise=bitwise)
    if type(x) is not type(y):
        return False
    if isinstance(x, float) and x != x:
        return y != y
    return bool(x == y)


def _arrays_equal(xa: np.ndarray, ya: np.ndarray, *, bitwise: bool = False) -> bool:
    if xa.dtype != ya.dtype or xa.shape != ya.shape:
        return False
    if xa.dtype == object:
        return bool(np.array_equal(xa, ya))
    if bitwise:  # without copying big arrays
        return bool(np.array_equal(np.ascontiguousarray(xa).reshape(-1).view(np.uint8),
                                   np.ascontiguousarray(ya).reshape(-1).view(np.uint8)))
    # equal_nan costs a pass of isnan over both arrays: only pay it when NaNs could matter.
    return bool(np.array_equal(xa, ya) or (xa.dtype.kind in 'fc' and np.array_equal(xa, ya, equal_nan=True)))


def _by_labels(tree: Any) -> dict[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], Any]]:
    """{key labels: ((path text, container kinds), leaf)}, computed once per leaf."""
    out = {}
    for path, x in leaves_with_paths(tree):
        parts = _key_parts(path)
        text = ''.join(str(k) for k in path)  # what jax.tree_util.keystr prints, faster
        out[tuple(label for _, label in parts)] = ((text, tuple(kind for kind, _ in parts)), x)
    return out


def _ordered_union(first: dict, second: dict) -> list:
    return list(first) + [k for k in second if k not in first]


def _category(x: Any) -> str:
    if isinstance(x, (jax.Array, np.ndarray, np.generic)):
        return 'array'
    return 'None' if x is None else type(x).__name__


def _compare_leaf(left: tuple[str, tuple], x: Any, right: tuple[str, tuple], y: Any) -> LeafDifference:
    (path, kinds_a), (path_b, kinds_b) = left, right
    if kinds_a != kinds_b:
        return LeafDifference(path, 'container differs', path, path_b)
    if _category(x) != _category(y):
        return LeafDifference(path, 'type differs', describe_type(x), describe_type(y))
    if _category(x) != 'array':
        return (LeafDifference(path, 'equal') if x == y
                else LeafDifference(path, 'value differs', preview(x), preview(y)))
    xa, ya = np.asarray(x), np.asarray(y)
    if xa.shape != ya.shape:
        return LeafDifference(path, 'shape differs', str(xa.shape), str(ya.shape))
    if xa.dtype != ya.dtype:
        return LeafDifference(path, 'dtype differs', str(xa.dtype), str(ya.dtype))
    if not _arrays_equal(xa, ya):
        return LeafDifference(path, 'value differs', preview(x), preview(y))
    return LeafDifference(path, 'equal')


def describe_type(x: Any) -> str:
    """A leaf's type as the comparison reports it: 'str', 'ndarray int64[2]', 'jax.Array ...'."""
    leaf = describe_leaf('', x)
    if leaf.shape is None:
        return leaf.type
    return f'{leaf.type} {leaf.dtype}{list(leaf.shape)}'

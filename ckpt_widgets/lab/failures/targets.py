"""Restore into the right target: compare yours with the checkpoint, or build it from metadata.

Measured on orbax-checkpoint 0.12.8 with jax-array targets (see
``tests/lab/test_corruption.py``):

* structure differs: ``ValueError: User-provided restore item and on-disk value
  metadata tree structures do not match`` (StandardRestore, PyTreeRestore, v1);
* shape differs: ``ValueError: Requested shape: (4, 3) is not compatible with
  the stored shape: (3, 4). Truncating/padding is disabled...``; plain
  ``PyTreeRestore(item)`` without ``restore_args`` ignores the target shape;
* dtype differs: NO error, the values are cast to the target dtype.

So a dtype mismatch needs :func:`target_mismatches` to be seen at all, and
the fix for all three is an abstract target read from the checkpoint itself,
which orbax already provides (:func:`abstract_target_from_metadata` is that
one line).

Example::

    >>> import os, tempfile
    >>> import numpy as np
    >>> from ckpt_widgets.lab.examples import saved_step
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     item_dir = os.path.join(saved_step(tmp), 'default')
    ...     target_mismatches(item_dir, {'w': np.zeros((4, 3), np.int32)})
    ['w: shape (4, 3) != stored (3, 4)', 'w: dtype int32 != stored float32 (restore casts silently)']
"""

from __future__ import annotations

import os
from typing import Any


def _stored_tree(item_dir: str | os.PathLike) -> Any:
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    return ocp.StandardCheckpointer().metadata(os.fspath(item_dir)).item_metadata.tree


def abstract_target_from_metadata(item_dir: str | os.PathLike) -> Any:
    """Returns the checkpoint's own tree of ``jax.ShapeDtypeStruct`` (with sharding).

    ``item_dir`` is a pytree dir such as ``<root>/<step>/default``. Pass the
    result to ``ocp.args.StandardRestore`` to restore exactly what was saved.
    For a manager, ``jax.tree.map(ocp.utils.to_shape_dtype_struct,
    mgr.item_metadata(step).tree)`` is the same (the manager needs
    ``item_handlers=ocp.StandardCheckpointHandler()`` or ``item_metadata``
    returns None); in v1, ``v1.load(path, v1.metadata(path))``.

    Example::

        >>> import os, tempfile
        >>> from ckpt_widgets.lab.examples import saved_step
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     abstract_target_from_metadata(os.path.join(saved_step(tmp), 'default'))['w']
        ShapeDtypeStruct(shape=(3, 4), dtype=float32...)
    """
    import jax  # pylint: disable=g-import-not-at-top
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    return jax.tree.map(ocp.utils.to_shape_dtype_struct, _stored_tree(item_dir))


def _dotted(path) -> str:
    import jax  # pylint: disable=g-import-not-at-top

    return jax.tree_util.keystr(path, simple=True, separator='.')


def target_mismatches(item_dir: str | os.PathLike, target: Any) -> list[str]:
    """Lists how ``target`` differs from the checkpoint, one line per leaf.

    Reads metadata only. An empty list means the target fits (structure, shape
    and dtype); dtype lines matter most because orbax casts without a word.

    Example::

        >>> import os, tempfile
        >>> import numpy as np
        >>> from ckpt_widgets.lab.examples import saved_step
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     target_mismatches(os.path.join(saved_step(tmp), 'default'), {'w': np.zeros((3, 4), np.float32)})
        []
    """
    import jax  # pylint: disable=g-import-not-at-top
    import numpy as np  # pylint: disable=g-import-not-at-top

    stored = dict(
        (_dotted(p), leaf)
        for p, leaf in jax.tree_util.tree_flatten_with_path(_stored_tree(item_dir))[0]
    )
    wanted = dict(
        (_dotted(p), leaf)
        for p, leaf in jax.tree_util.tree_flatten_with_path(target)[0]
    )
    problems = []
    for name in sorted(wanted.keys() - stored.keys()):
        problems.append(f'{name}: not in the checkpoint')
    for name in sorted(stored.keys() - wanted.keys()):
        problems.append(f'{name}: in the checkpoint, missing from the target')
    for name in sorted(wanted.keys() & stored.keys()):
        want, have = wanted[name], stored[name]
        if getattr(have, 'shape', None) is None or getattr(have, 'dtype', None) is None:
            continue  # a string or other non-array leaf: nothing to compare
        want_shape = tuple(np.shape(want))
        if want_shape != tuple(have.shape):
            problems.append(
                f'{name}: shape {want_shape} != stored {tuple(have.shape)}'
            )
        if isinstance(want, (bool, int, float)):
            continue  # a Python scalar has no dtype of its own to insist on
        want_dtype = np.dtype(getattr(want, 'dtype', np.asarray(want).dtype))
        if want_dtype != np.dtype(have.dtype):
            problems.append(
                f'{name}: dtype {want_dtype} != stored {np.dtype(have.dtype)}'
                ' (restore casts silently)'
            )
    return problems

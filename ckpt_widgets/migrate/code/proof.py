"""Proof by running: execute legacy code and its rewrite in fresh folders and compare both.

What is compared is what the workshop checker compares (`ckpt_widgets.exercises`): the names
each run leaves on disk, the steps `scan.list_steps` finds kept, and the restored trees leaf
by leaf (`pytrees.compare`). Restored trees are compared as Flax state dicts
(`flax.serialization.to_state_dict`), the form Flax itself returned without a target, with
arrays as numpy and 0-d values as Python scalars: Flax's restore into a target handed a
saved 0-d `jax.Array` (a TrainState's `step`) back as an `int`, Orbax hands back the array.

    before = run_source(legacy_code, '/tmp/a')      # calls legacy_code's main('/tmp/a')
    after = run_source(migrated_code, '/tmp/b')
    assert differences(before, after) == []
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import warnings
from pathlib import Path
from typing import Any

from ckpt_widgets.runtime import flax_msgpack_writer

_STEP_NAME = re.compile(r'\d+$')


@dataclasses.dataclass(frozen=True)
class Run:
    """What one run left: {folder: names in it}, {folder: kept steps}, and what it returned."""

    listing: dict[str, tuple[str, ...]]
    steps: dict[str, tuple[int, ...]]
    result: Any


def _listing(root: Path) -> dict[str, tuple[str, ...]]:
    """Names directly under `root` and under each of its non-step subfolders (one level)."""
    found = {'.': tuple(sorted(os.listdir(root)))}
    for name in found['.']:
        path = root / name
        if path.is_dir() and not _STEP_NAME.search(name):
            found[name] = tuple(sorted(os.listdir(path)))
    return found


def _steps(root: Path, listing: dict[str, tuple[str, ...]]) -> dict[str, tuple[int, ...]]:
    from ckpt_widgets import scan
    result = {}
    for folder in listing:
        _, steps = scan.list_steps(root / folder)
        if steps:
            result[folder] = tuple(s.step for s in steps if s.status == 'kept')
    return result


def run_source(source: str, workdir: str | os.PathLike, entry: str = 'main',
               filename: str = '<migrated>', msgpack: bool = False) -> Run:
    """Executes `source` as a module and calls its `entry(workdir)`; returns the `Run`.

    `msgpack=True` runs Flax's legacy calls on their msgpack writer (the documented
    behaviour; Flax's default Orbax backend differs in places, see `save_rules`).
    """
    root = Path(workdir).absolute()
    root.mkdir(parents=True, exist_ok=True)
    namespace: dict[str, Any] = {'__name__': f'ckpt_lab_proof_{abs(hash(filename))}'}
    writer = flax_msgpack_writer() if msgpack else contextlib.nullcontext()
    with warnings.catch_warnings(), writer:
        warnings.simplefilter('ignore', DeprecationWarning)
        # A restore without shardings reads them from the checkpoint, as both sides do here.
        warnings.filterwarnings('ignore', message='Sharding info not provided')
        exec(compile(source, filename, 'exec'), namespace)  # noqa: S102 - the point of a proof
        result = namespace[entry](str(root))
    listing = _listing(root)
    return Run(listing=listing, steps=_steps(root, listing), result=result)


def comparable(tree: Any) -> Any:
    """`tree` as `differences` compares it: a Flax state dict of numpy arrays and scalars."""
    import jax
    import numpy as np
    from flax import serialization

    def leaf(x):
        if isinstance(x, (jax.Array, np.ndarray, np.generic)):
            return np.asarray(x).item() if np.ndim(x) == 0 else np.asarray(x)
        return x
    return jax.tree.map(leaf, serialization.to_state_dict(tree))


def differences(before: Run, after: Run) -> list[str]:
    """What differs between two runs, one line each (empty: the same on disk and restored)."""
    from ckpt_widgets.pytrees import compare
    problems = []
    if before.listing != after.listing:
        problems.append(f'on disk: {before.listing} != {after.listing}')
    if before.steps != after.steps:
        problems.append(f'kept steps: {before.steps} != {after.steps}')
    left = comparable(before.result)
    right = comparable(after.result)
    comparison = compare(left, right, 'legacy', 'migrated')
    if not comparison.equal:
        problems += [f'restored {d.path}: {d.status} ({d.left} | {d.right})'
                     for d in comparison.differences]
    return problems

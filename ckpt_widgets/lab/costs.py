"""What a checkpoint costs: save, restore and training-loop blocking time per method, and the disk's limit.

One measurement kernel shared by `benchmarks/bench_checkpoint.py` (big pytrees, JSON + table)
and the notebook `10_performance` (a small, live version), so both time exactly the same calls.

>>> import tempfile
>>> tree = float32_tree(1)
>>> with tempfile.TemporaryDirectory() as d:
...     runs = measure('orbax_sync', tree, d, repeats=1)
>>> sorted(runs)
['blocked_s', 'restore_cpu_s', 'restore_s', 'save_cpu_s', 'save_s']

Methods (`METHODS`), each saving a pytree of jax Arrays and restoring it onto the same shardings:
- `flax_msgpack`: `flax.training.checkpoints` with `flax_use_orbax_checkpointing=False`: one msgpack
  file, not fsync'ed by Flax; restore returns numpy, so the timed restore includes `device_put`.
- `orbax_sync`: `ocp.Checkpointer(ocp.StandardCheckpointHandler())`.
- `orbax_async`: `ocp.AsyncCheckpointer(ocp.StandardCheckpointHandler())`, then `wait_until_finished`.
- `manager_async`: `ocp.CheckpointManager` with its defaults (async), then `wait_until_finished`.
- `v1_sync` / `v1_async`: `orbax.checkpoint.experimental.v1.save` / `save_async(...).result()`.
- `orbax_no_ocdbt` / `orbax_no_zstd`: `orbax_sync` through `PyTreeCheckpointHandler` without OCDBT
  (one tensorstore directory per leaf) or without zstd compression: what those two cost.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any, Callable

from ckpt_widgets.pytrees import trees_equal
from ckpt_widgets.runtime import flax_msgpack_writer

MB = 10**6  # sizes and MB/s here are decimal megabytes


def float32_tree(megabytes: float, leaves: int = 4, sharding: Any = None, seed: int = 0) -> dict:
    """A pytree `{'params': {'layer_i': float32 Array}}` of about `megabytes` MB in `leaves` leaves.

    Random normal values (what weights look like: zstd gains little on them). With `sharding`
    (e.g. `NamedSharding(Mesh(devices, 'x'), P('x'))`), every leaf is split over its devices.

    >>> tree_bytes(float32_tree(1, leaves=2))
    999424
    """
    import jax
    import numpy as np

    # A multiple of 8 * 128 elements, so any mesh of up to 8 devices splits every leaf evenly.
    per_leaf = max(1024, int(megabytes * MB / 4 / leaves) // 1024 * 1024)
    rng = np.random.default_rng(seed)
    layers = {}
    for i in range(leaves):
        value = rng.standard_normal(per_leaf, dtype=np.float32)
        layers[f'layer_{i}'] = jax.device_put(value, sharding) if sharding is not None else (
            jax.numpy.asarray(value))
    return {'params': layers}


def tree_bytes(tree: Any) -> int:
    """Total bytes of a pytree's array leaves."""
    import jax
    return sum(leaf.nbytes for leaf in jax.tree.leaves(tree))


def abstract_tree(tree: Any) -> Any:
    """`ShapeDtypeStruct`s with each leaf's sharding: the target that restores onto the same devices."""
    import jax
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding), tree)


def drop_page_cache(path: str | os.PathLike) -> None:
    """Flush every file under `path` and ask the kernel to evict it from the page cache.

    fsync first: `POSIX_FADV_DONTNEED` only drops clean pages. Affects these files only (never
    the whole cache, which other programs on the machine rely on). A hypervisor's own cache
    below a VM is out of reach, so a later read can still beat the physical disk.
    """
    path = Path(path)
    files = [path] if path.is_file() else [p for p in path.rglob('*') if p.is_file()]
    for file in files:
        fd = os.open(file, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def disk_limit(directory: str | os.PathLike, tree: Any) -> dict[str, float]:
    """Seconds to write the tree's bytes as plain files (with and without fsync) and read them back.

    The ceiling no checkpoint library can beat on this disk: `write_fsync_s` (write + fsync, as
    durable as an Orbax save), `write_s` (into the page cache only, as Flax's msgpack save) and
    `read_s` (after `drop_page_cache`). One file per leaf, like a checkpoint.
    """
    import jax
    import numpy as np

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    buffers = [np.asarray(leaf) for leaf in jax.tree.leaves(tree)]
    files = [directory / f'leaf_{i}' for i in range(len(buffers))]

    def write(fsync: bool) -> float:
        start = time.perf_counter()
        for file, buffer in zip(files, buffers, strict=False):
            with open(file, 'wb') as f:
                f.write(memoryview(buffer).cast('B'))
                if fsync:
                    f.flush()
                    os.fsync(f.fileno())
        return time.perf_counter() - start

    write_s = write(fsync=False)
    drop_page_cache(directory)  # flush those dirty pages now, not during the next measurement
    write_fsync_s = write(fsync=True)
    drop_page_cache(directory)
    start = time.perf_counter()
    for file, buffer in zip(files, buffers, strict=False):
        target = np.empty_like(buffer)
        with open(file, 'rb', buffering=0) as f:
            f.readinto(memoryview(target).cast('B'))
    read_s = time.perf_counter() - start
    shutil.rmtree(directory)
    return {'write_fsync_s': write_fsync_s, 'write_s': write_s, 'read_s': read_s}


class _Method:
    """One way to checkpoint: `prepare(path)`, `save(path, tree)`, `finish()`, `restore(path, like)`."""

    def prepare(self, path: Path) -> None:
        """Untimed set-up for a save into `path` (a training loop makes it once, before step 0)."""

    def save(self, path: Path, tree: Any) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Wait until the last save is durable (a no-op for synchronous methods)."""

    def restore(self, path: Path, abstract: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _FlaxMsgpack(_Method):
    def save(self, path, tree):
        from flax.training import checkpoints
        with flax_msgpack_writer(hide_deprecation=True):
            checkpoints.save_checkpoint(path, tree, step=0)

    def restore(self, path, abstract):
        import jax
        from flax.training import checkpoints
        with flax_msgpack_writer(hide_deprecation=True):
            restored = checkpoints.restore_checkpoint(path, target=None)
        # msgpack gives numpy arrays back; a training loop needs them on its devices again.
        shardings = jax.tree.map(lambda a: a.sharding, abstract)
        return jax.block_until_ready(jax.device_put(restored, shardings))


class _OrbaxCheckpointer(_Method):
    def __init__(self, asynchronous: bool = False, **pytree_options):
        import orbax.checkpoint as ocp
        self.ocp = ocp
        self.standard = not pytree_options
        handler = (ocp.StandardCheckpointHandler() if self.standard
                   else ocp.PyTreeCheckpointHandler(**pytree_options))
        self.ckptr = ocp.AsyncCheckpointer(handler) if asynchronous else ocp.Checkpointer(handler)

    def save(self, path, tree):
        args = self.ocp.args.StandardSave(tree) if self.standard else self.ocp.args.PyTreeSave(tree)
        self.ckptr.save(path / 'ckpt', args=args)

    def finish(self):
        if hasattr(self.ckptr, 'wait_until_finished'):
            self.ckptr.wait_until_finished()

    def restore(self, path, abstract):
        if self.standard:
            args = self.ocp.args.StandardRestore(abstract)
        else:
            import jax
            restore_args = jax.tree.map(
                lambda a: self.ocp.ArrayRestoreArgs(sharding=a.sharding), abstract)
            args = self.ocp.args.PyTreeRestore(abstract, restore_args=restore_args)
        return self.ckptr.restore(path / 'ckpt', args=args)

    def close(self):
        self.ckptr.close()


class _Manager(_Method):
    def __init__(self):
        import orbax.checkpoint as ocp
        self.ocp = ocp
        self.manager = None

    def prepare(self, path):
        self.close()
        self.manager = self.ocp.CheckpointManager(path)

    def save(self, path, tree):
        self.manager.save(0, args=self.ocp.args.StandardSave(tree))

    def finish(self):
        self.manager.wait_until_finished()

    def restore(self, path, abstract):
        return self.manager.restore(0, args=self.ocp.args.StandardRestore(abstract))

    def close(self):
        if self.manager is not None:
            self.manager.close()
            self.manager = None


class _V1(_Method):
    def __init__(self, asynchronous: bool = False):
        import orbax.checkpoint.experimental.v1 as v1
        self.v1, self.asynchronous, self.pending = v1, asynchronous, None

    def save(self, path, tree):
        if self.asynchronous:
            self.pending = self.v1.save_async(path / 'ckpt', tree)
        else:
            self.v1.save(path / 'ckpt', tree)

    def finish(self):
        if self.pending is not None:
            self.pending.result()
            self.pending = None

    def restore(self, path, abstract):
        return self.v1.load(path / 'ckpt', abstract)


METHODS: dict[str, Callable[[], _Method]] = {
    'flax_msgpack': _FlaxMsgpack,
    'orbax_sync': _OrbaxCheckpointer,
    'orbax_async': lambda: _OrbaxCheckpointer(asynchronous=True),
    'manager_async': _Manager,
    'v1_sync': _V1,
    'v1_async': lambda: _V1(asynchronous=True),
    'orbax_no_ocdbt': lambda: _OrbaxCheckpointer(use_ocdbt=False),
    'orbax_no_zstd': lambda: _OrbaxCheckpointer(use_compression=False),
}
"""Method name -> factory of a fresh method object (see the module docstring)."""

ASYNC_METHODS = ('orbax_async', 'manager_async', 'v1_async')


def measure(method: str, tree: Any, directory: str | os.PathLike, repeats: int = 3,
            check: bool = True,
            methods: dict[str, Callable[[], _Method]] | None = None) -> dict[str, list[float]]:
    """Time `repeats` saves and restores of `tree` with one method; seconds per run.

    `blocked_s`: until `save()` returns, i.e. how long the training loop stands still;
    `save_s`: until the checkpoint is durable (`wait_until_finished` for async methods);
    `restore_s`: loading it back onto the tree's shardings after `drop_page_cache`;
    `save_cpu_s` / `restore_cpu_s`: CPU seconds of the whole process (all threads) meanwhile:
    near the core count x wall time, the CPU is the bound, not the disk.
    One untimed warm-up save and restore first (thread pools, first-call code paths). With `check`, the
    first restore is compared leaf by leaf with `tree` (outside the timings).

    >>> # measure('orbax_async', float32_tree(8), '/tmp/x', repeats=3)['blocked_s']
    """
    import jax

    methods = METHODS if methods is None else methods  # e.g. tuning.OPTIONS
    if method not in methods:
        raise ValueError(f'unknown method {method!r}; choose one of {sorted(methods)}')
    if repeats < 1:
        raise ValueError(f'repeats must be at least 1, got {repeats}')
    directory = Path(directory).absolute() / method
    runner = methods[method]()
    runs: dict[str, list[float]] = {k: [] for k in ('blocked_s', 'save_s', 'restore_s',
                                                     'save_cpu_s', 'restore_cpu_s')}
    try:
        for i in range(-1, repeats):  # i == -1: the warm-up
            path = directory / f'run_{i + 1}'
            path.mkdir(parents=True)
            runner.prepare(path)
            # The warm-up saves a small slice of each leaf: same code paths, little disk time.
            saving = tree if i >= 0 else jax.tree.map(lambda a: a[:8192], tree)
            abstract = abstract_tree(saving)
            jax.block_until_ready(saving)
            start, cpu = time.perf_counter(), time.process_time()
            runner.save(path, saving)
            blocked = time.perf_counter() - start
            runner.finish()
            saved, save_cpu = time.perf_counter() - start, time.process_time() - cpu
            drop_page_cache(path)
            start, cpu = time.perf_counter(), time.process_time()
            restored = jax.block_until_ready(runner.restore(path, abstract))
            restored_s, restore_cpu = time.perf_counter() - start, time.process_time() - cpu
            if check and i == 0:
                same_shardings = all(a.sharding == b.sharding for a, b in zip(
                    jax.tree.leaves(tree), jax.tree.leaves(restored), strict=True))
                if not (trees_equal(tree, restored) and same_shardings):
                    raise AssertionError(f'{method}: restored tree differs from the saved one')
            del restored
            shutil.rmtree(path)
            if i >= 0:
                runs['blocked_s'].append(blocked)
                runs['save_s'].append(saved)
                runs['restore_s'].append(restored_s)
                runs['save_cpu_s'].append(save_cpu)
                runs['restore_cpu_s'].append(restore_cpu)
    finally:
        runner.close()
        shutil.rmtree(directory, ignore_errors=True)
    return runs


def median_min_max(values: list[float]) -> dict[str, float]:
    """`{'median', 'min', 'max'}` of a list of measurements."""
    return {'median': statistics.median(values), 'min': min(values), 'max': max(values)}

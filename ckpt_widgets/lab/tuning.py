"""Which Orbax options move a big save and restore toward the disk's limits, one at a time.

Every entry of `OPTIONS` is the default synchronous Orbax save (`PyTreeCheckpointHandler`:
OCDBT on, zstd on, whole-shard chunks) with ONE thing changed, so its effect is its own; the
`recipe` entries combine the options that helped. They plug into `costs.measure`, which
times save (until durable) and restore (after dropping the page cache) and checks the restore:

>>> import tempfile
>>> from ckpt_widgets.lab import costs
>>> with tempfile.TemporaryDirectory() as d:
...     runs = costs.measure('recipe', costs.float32_tree(1), d, repeats=1,
...                               methods=OPTIONS)
>>> sorted(runs)
['blocked_s', 'restore_cpu_s', 'restore_s', 'save_cpu_s', 'save_s']
"""

from __future__ import annotations

from typing import Any, Callable

from . import costs

MB = costs.MB
# Chunks of this size give tensorstore many independent pieces to write and read in parallel
# (by default a chunk is a whole shard: one 250 MB piece per leaf on one device).
CHUNK_BYTES = 16 * MB


class Tuned(costs._Method):
    """A synchronous (or async) Orbax v0 save/restore with some options set.

    `handler`: keyword arguments of `ocp.PyTreeCheckpointHandler` (use_ocdbt, use_zarr3,
    use_compression, save_concurrent_gb, restore_concurrent_gb); `chunk_byte_size`: per leaf,
    through `ocp.SaveArgs`; `data_file_bytes`: `PyTreeSave(ocdbt_target_data_file_size=...)`.
    """

    def __init__(self, *, handler: dict | None = None, chunk_byte_size: int | None = None,
                 data_file_bytes: int | None = None, asynchronous: bool = False) -> None:
        import orbax.checkpoint as ocp
        self.ocp, self.chunk_byte_size, self.data_file_bytes = ocp, chunk_byte_size, data_file_bytes
        pytree = ocp.PyTreeCheckpointHandler(**(handler or {}))
        self.ckptr = ocp.AsyncCheckpointer(pytree) if asynchronous else ocp.Checkpointer(pytree)

    def save(self, path, tree):
        import jax
        save_args = None
        if self.chunk_byte_size is not None:
            save_args = jax.tree.map(lambda _: self.ocp.SaveArgs(chunk_byte_size=self.chunk_byte_size),
                                     tree)
        self.ckptr.save(path / 'ckpt', args=self.ocp.args.PyTreeSave(
            tree, save_args=save_args, ocdbt_target_data_file_size=self.data_file_bytes))

    def finish(self):
        if hasattr(self.ckptr, 'wait_until_finished'):
            self.ckptr.wait_until_finished()

    def restore(self, path, abstract):
        import jax
        restore_args = jax.tree.map(lambda a: self.ocp.ArrayRestoreArgs(sharding=a.sharding),
                                    abstract)
        return self.ckptr.restore(path / 'ckpt', args=self.ocp.args.PyTreeRestore(
            abstract, restore_args=restore_args))

    def close(self):
        self.ckptr.close()


class TunedV1(costs._Method):
    """`ocp.v1.save` / `load` inside a `v1.Context` built from `saving` (ArrayOptions.Saving
    keywords, plus `chunk_byte_size`) and `memory` (MemoryOptions keywords)."""

    def __init__(self, *, saving: dict | None = None, chunk_byte_size: int | None = None,
                 memory: dict | None = None) -> None:
        import orbax.checkpoint.experimental.v1 as v1
        saving = dict(saving or {})
        if chunk_byte_size is not None:
            saving['storage_options'] = v1.options.ArrayOptions.Saving.StorageOptions(
                chunk_byte_size=chunk_byte_size)
        self.v1 = v1
        self.context = v1.Context(
            array_options=v1.options.ArrayOptions(saving=v1.options.ArrayOptions.Saving(**saving)),
            memory_options=v1.options.MemoryOptions(**(memory or {})))

    def save(self, path, tree):
        with self.context:
            self.v1.save(path / 'ckpt', tree)

    def restore(self, path, abstract):
        with self.context:
            return self.v1.load(path / 'ckpt', abstract)


OPTIONS: dict[str, Callable[[], Any]] = {
    'default': Tuned,
    'no_zstd': lambda: Tuned(handler={'use_compression': False}),
    'no_ocdbt': lambda: Tuned(handler={'use_ocdbt': False}),
    'zarr3': lambda: Tuned(handler={'use_zarr3': True}),
    'chunks_16MB': lambda: Tuned(chunk_byte_size=CHUNK_BYTES),
    'data_files_128MB': lambda: Tuned(data_file_bytes=128 * MB),
    'concurrency_1GB': lambda: Tuned(handler={'save_concurrent_gb': 1, 'restore_concurrent_gb': 1}),
    'async': lambda: Tuned(asynchronous=True),
    'v1_default': TunedV1,
    'v1_no_zstd': lambda: TunedV1(saving={'use_compression': False}),
    'v1_concurrency_1GB': lambda: TunedV1(memory={'write_concurrent_bytes': 10**9,
                                                  'read_concurrent_bytes': 10**9}),
    'recipe': lambda: Tuned(handler={'use_compression': False}, chunk_byte_size=CHUNK_BYTES),
    'v1_recipe': lambda: TunedV1(saving={'use_compression': False}, chunk_byte_size=CHUNK_BYTES),
}
"""Option name -> factory of a method for `costs.measure(..., methods=OPTIONS)`."""

SINGLE = [name for name in OPTIONS if 'recipe' not in name]

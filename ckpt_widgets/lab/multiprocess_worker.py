"""One process of a multi-process JAX run that saves a global array with Orbax.

Started by :func:`ckpt_widgets.lab.multiprocess.save_global_array_from_processes`
(never by hand) as ``python -m ckpt_widgets.lab.multiprocess_worker``. The
launcher passes the coordinator through the environment (see
``ckpt_widgets.lab.multiprocess``) and the device count through ``XLA_FLAGS``.

Each process joins the JAX cluster, builds ONE global ``(rows, cols)`` array
sharded by rows over every device of every process, saves it at step 0 with
an ``ocp.CheckpointManager`` and prints lines ``CKPT_WORKER_REPORT {json}``
saying how far it got (``stage``: ``array_built``, ``saving``, ``done``), what
it holds and what it wrote.

Modes (the wrong ones exist to teach what users trip on):

* ``every_process_saves``: the rule: every process calls ``save`` on the same
  directory; each writes its own shards, process 0 commits.
* ``only_process_0_saves``: the save is gated on ``jax.process_index() == 0``.
* ``separate_directories``: each process saves into ``<dir>/process_<i>``.
* ``fail``: the last process raises before saving.
* ``hang``: the last process sleeps forever before saving.

Example (what the launcher runs for process 1 of 2)::

    CKPT_COORDINATOR_ADDRESS=127.0.0.1:40123 CKPT_NUM_PROCESSES=2 \\
    CKPT_PROCESS_ID=1 XLA_FLAGS=--xla_force_host_platform_device_count=4 \\
    python -m ckpt_widgets.lab.multiprocess_worker --directory /abs/ckpts
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback

REPORT_PREFIX = 'CKPT_WORKER_REPORT '
MODES = (
    'every_process_saves',
    'only_process_0_saves',
    'separate_directories',
    'fail',
    'hang',
)
ENV_COORDINATOR = 'CKPT_COORDINATOR_ADDRESS'
ENV_NUM_PROCESSES = 'CKPT_NUM_PROCESSES'
ENV_PROCESS_ID = 'CKPT_PROCESS_ID'


def global_values(rows: int, cols: int):
    """The array every run saves: ``arange`` so any misplaced shard shows.

    >>> global_values(2, 3).tolist()
    [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    """
    import numpy as np

    return np.arange(rows * cols, dtype=np.float32).reshape(rows, cols)


def _parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--directory', required=True)
    parser.add_argument('--mode', choices=MODES, default='every_process_saves')
    parser.add_argument('--rows', type=int, default=64)
    parser.add_argument('--cols', type=int, default=16)
    parser.add_argument('--step', type=int, default=0)
    parser.add_argument(
        '--barrier-timeout',
        type=int,
        default=None,
        help='Orbax barrier timeout in seconds (its default is 1200).',
    )
    return parser.parse_args(argv)


def _report(**fields) -> None:
    # One line, flushed, so the launcher can read it even if we die later.
    print(REPORT_PREFIX + json.dumps(fields, sort_keys=True), flush=True)


def _rows_held(array) -> list[list[int]]:
    """Row ranges ``[start, stop)`` of the shards that live in this process."""
    ranges = set()
    for shard in array.addressable_shards:
        rows = shard.index[0]
        ranges.add((rows.start or 0, rows.stop if rows.stop is not None else array.shape[0]))
    return [list(r) for r in sorted(ranges)]


def _files_named_for(process_id: int, step_dir: str) -> list[str]:
    """Paths under ``step_dir`` whose name ends with ``process_<id>``."""
    suffix = f'process_{process_id}'
    found = []
    for root, dirs, files in os.walk(step_dir):
        for name in dirs + files:
            if name.endswith(suffix):
                found.append(os.path.relpath(os.path.join(root, name), step_dir))
    return sorted(found)


def main(argv=None) -> int:
    args = _parse_args(argv)
    started = time.monotonic()
    process_id = int(os.environ[ENV_PROCESS_ID])
    num_processes = int(os.environ[ENV_NUM_PROCESSES])
    is_last = process_id == num_processes - 1

    # Imported here: XLA_FLAGS must be in the environment before jax starts.
    import jax
    import numpy as np
    import orbax.checkpoint as ocp
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    logging.getLogger('absl').setLevel(logging.ERROR)
    jax.distributed.initialize(
        coordinator_address=os.environ[ENV_COORDINATOR],
        num_processes=num_processes,
        process_id=process_id,
    )

    values = global_values(args.rows, args.cols)
    mesh = Mesh(np.array(jax.devices()), ('x',))
    sharding = NamedSharding(mesh, P('x', None))
    array = jax.make_array_from_callback(values.shape, sharding, lambda idx: values[idx])
    # Reported before saving too: if the save never returns, this says so.
    facts = dict(
        process_id=process_id,
        process_index=jax.process_index(),
        mode=args.mode,
        local_device_ids=[d.id for d in jax.local_devices()],
        global_device_count=jax.device_count(),
        rows_held=_rows_held(array),
    )
    _report(stage='array_built', **facts)

    if args.mode == 'fail' and is_last:
        raise RuntimeError(f'process {process_id} failed on purpose (mode=fail)')
    if args.mode == 'hang' and is_last:
        while True:  # Only the launcher's timeout ends this.
            time.sleep(3600)

    directory = os.path.abspath(args.directory)
    if args.mode == 'separate_directories':
        directory = os.path.join(directory, f'process_{process_id}')
    saves = args.mode != 'only_process_0_saves' or jax.process_index() == 0

    options = ocp.CheckpointManagerOptions()
    if args.barrier_timeout is not None:
        options = ocp.CheckpointManagerOptions(
            async_options=ocp.AsyncOptions(timeout_secs=args.barrier_timeout)
        )
    _report(stage='saving', **facts)
    saved = None
    with ocp.CheckpointManager(directory, options=options) as manager:
        if saves:
            saved = bool(manager.save(args.step, args=ocp.args.StandardSave({'w': array})))
        manager.wait_until_finished()
        steps = list(manager.all_steps())

    step_dir = os.path.join(directory, str(args.step))
    _report(
        stage='done',
        **facts,
        directory=directory,
        called_save=saves,
        saved=saved,
        steps_seen=steps,
        files_named_for_me=_files_named_for(process_id, step_dir),
        elapsed_s=round(time.monotonic() - started, 3),
    )
    return 0


if __name__ == '__main__':
    try:
        exit_code = main()
    except Exception:  # pylint: disable=broad-exception-caught
        traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        # A normal exit runs JAX's atexit jax.distributed.shutdown(), which waits
        # for every peer; a peer stuck in a collective would keep us alive forever.
        os._exit(1)
    sys.exit(exit_code)

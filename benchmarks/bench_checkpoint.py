"""Benchmark: checkpoint save/restore throughput and save() blocking time, against the disk's limit.

    python benchmarks/bench_checkpoint.py            # 10 MB, 100 MB, 1 GB on 1 and 8 devices
    python benchmarks/bench_checkpoint.py --quick    # 10 MB only, 3 repeats (CI-sized)

Methods (see ckpt_widgets/lab/costs.py): Flax's legacy msgpack path, Orbax sync and async
checkpointers, a default (async) CheckpointManager, the v1 API sync and async, and Orbax sync
without OCDBT / without zstd. Pytrees of float32 arrays in 4 leaves; on 8 host devices every leaf
is sharded over Mesh(8, 'x'). Each device count runs in its own subprocess (JAX fixes the count
when it starts). The disk's limit is measured in the same run: the same bytes written as plain
files with write + fsync, and read back after dropping them from the page cache.

Writes benchmarks/results/checkpoint.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from ckpt_widgets.lab import costs  # noqa: E402

RESULTS = HERE / 'results' / 'checkpoint.json'
SIZES_MB = (10, 100, 1000)
QUICK_SIZES_MB = (10,)
DEVICE_COUNTS = (1, 8)
READ_NOTE = ('Restore and disk-read times start after fsync + posix_fadvise(POSIX_FADV_DONTNEED) '
             "on the checkpoint's files, which evicts them from this machine's page cache; a "
             'hypervisor cache below a VM may still serve them, so reads can beat the physical disk.')
MSGPACK_NOTE = ('flax_msgpack does not fsync (its save ends in the page cache, compare with the '
                "disk's no-fsync write); its restore includes device_put back onto the shardings.")


def repeats_for(megabytes: float, quick: bool) -> int:
    """More repeats where runs are short and noise is relatively large."""
    if quick:
        return 3
    return 7 if megabytes <= 10 else 5 if megabytes <= 100 else 3


def _mb_s(nbytes: int, seconds: list[float]) -> dict[str, float]:
    rates = [nbytes / costs.MB / s for s in seconds]
    return {k: round(v, 1) for k, v in costs.median_min_max(rates).items()}


def _ms(seconds: list[float]) -> dict[str, float]:
    return {k: round(v * 1000, 2) for k, v in costs.median_min_max(seconds).items()}


def measure_against_disk(megabytes: float, repeats: int, directory: Path, names, key: str,
                         one: Callable[[str, Any, int], dict]) -> dict:
    """The disk's limits and `one(name, tree, nbytes)` for each name, for one pytree size on
    this process's devices; the per-name results under `key`."""
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = jax.devices()
    sharding = (NamedSharding(Mesh(np.array(devices), ('x',)), PartitionSpec('x'))
                if len(devices) > 1 else None)
    tree = costs.float32_tree(megabytes, sharding=sharding)
    nbytes = costs.tree_bytes(tree)
    disk_runs: dict[str, list[float]] = {'write_fsync_s': [], 'write_s': [], 'read_s': []}

    def disk(n: int) -> None:
        for _ in range(n):
            for name, value in costs.disk_limit(directory / 'disk', tree).items():
                disk_runs[name].append(value)

    # Half of the disk runs before the methods and half after, so a change in machine load
    # during the run shows up in the disk's spread instead of biasing the comparison.
    disk(math.ceil(repeats / 2))
    results = {name: one(name, tree, nbytes) for name in names}
    disk(repeats - math.ceil(repeats / 2) or 1)
    return {
        'megabytes': megabytes, 'bytes': nbytes, 'leaves': len(jax.tree.leaves(tree)),
        'devices': len(devices), 'repeats': repeats,
        'disk': {'write_fsync_mb_s': _mb_s(nbytes, disk_runs['write_fsync_s']),
                 'write_mb_s': _mb_s(nbytes, disk_runs['write_s']),
                 'read_mb_s': _mb_s(nbytes, disk_runs['read_s'])},
        key: results,
    }


def measure_size(megabytes: float, repeats: int, directory: Path,
                 methods: tuple[str, ...] = tuple(costs.METHODS)) -> dict:
    """All methods and the disk's limit for one pytree size on this process's devices."""
    def one(method: str, tree: Any, nbytes: int) -> dict:
        runs = costs.measure(method, tree, directory, repeats=repeats)
        return {
            'save_mb_s': _mb_s(nbytes, runs['save_s']),
            'restore_mb_s': _mb_s(nbytes, runs['restore_s']),
            'blocked_ms': _ms(runs['blocked_s']),
            'save_ms': _ms(runs['save_s']),
            'restore_ms': _ms(runs['restore_s']),
        }

    return measure_against_disk(megabytes, repeats, directory, methods, 'methods', one)


def run_in_process(sizes_mb: tuple[float, ...], quick: bool, directory: Path,
                   methods: tuple[str, ...] = tuple(costs.METHODS),
                   repeats: int | None = None) -> list[dict]:
    """`measure_size` for each size, on the devices this process already has."""
    return [measure_size(mb, repeats or repeats_for(mb, quick), directory, methods)
            for mb in sizes_mb]


def _child(args: argparse.Namespace) -> int:
    import ckpt_widgets as cw
    cw.use_host_devices(args.devices)
    cw.quiet_logs()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix='bench-checkpoint-') as scratch:
        rows = run_in_process(tuple(args.sizes), args.quick, Path(scratch), repeats=args.repeats)
    Path(args.output).write_text(json.dumps(rows))
    return 0


def machine_info(directory: str | None = None) -> dict:
    """CPU count and model, the disk under `directory`, Python and package versions, load."""
    import importlib.metadata
    import platform

    model = ''
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in ('jax', 'jaxlib', 'flax', 'orbax-checkpoint', 'tensorstore', 'numpy'):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        'cpus': os.cpu_count(), 'cpu_model': model, 'platform': platform.platform(),
        'python': platform.python_version(), 'versions': versions,
        'disk': disk_info(directory or tempfile.gettempdir()),
        'load_average': [round(x, 2) for x in os.getloadavg()],
        'date': time.strftime('%Y-%m-%d %H:%M %Z'),
    }


def disk_info(path: str) -> dict:
    """Device, file system and (if the kernel says) rotational flag and model of `path`'s mount."""
    path = os.path.realpath(path)
    best = ('', '', '')
    try:
        for line in Path('/proc/mounts').read_text().splitlines():
            device, mount, fstype = line.split()[:3]
            if (path == mount or path.startswith(mount.rstrip('/') + '/')) and len(mount) > len(best[1]):
                best = (device, mount, fstype)
    except OSError:
        pass
    device, mount, fstype = best
    info = {'path': path, 'device': device, 'mount': mount, 'fstype': fstype}
    block = Path('/sys/block') / os.path.basename(device)
    for key, rel in (('rotational', 'queue/rotational'), ('model', 'device/model')):
        try:
            info[key] = (block / rel).read_text().strip()
        except OSError:
            pass
    return info


def targets(rows: list[dict]) -> list[dict]:
    """The issue's targets, evaluated on the measured medians (reported, never asserted)."""
    out = []
    for row in rows:
        m, where = row['methods'], f"{row['devices']} device(s), {row['megabytes']:g} MB"
        if row['megabytes'] >= 1000 and 'orbax_sync' in m:
            share = m['orbax_sync']['save_mb_s']['median'] / row['disk']['write_fsync_mb_s']['median']
            out.append({'target': "Orbax sync save >= 50 % of the disk's write+fsync limit",
                        'where': where, 'measured': f'{share:.0%}', 'met': share >= 0.5})
        if row['megabytes'] >= 100:
            for fast, slow in (('orbax_async', 'orbax_sync'), ('manager_async', 'orbax_sync'),
                               ('v1_async', 'v1_sync')):
                if fast in m and slow in m:
                    share = m[fast]['blocked_ms']['median'] / m[slow]['save_ms']['median']
                    out.append({'target': f'{fast} save() blocks <= 5 % of {slow} save time',
                                'where': where, 'measured': f'{share:.1%}', 'met': share <= 0.05})
    return out


def run(sizes_mb: tuple[float, ...], quick: bool, devices: tuple[int, ...] = DEVICE_COUNTS,
        directory: str | None = None, repeats: int | None = None) -> dict:
    """Every device count in its own subprocess; returns the merged result."""
    rows = []
    for count in devices:
        with tempfile.NamedTemporaryFile(suffix='.json', delete=False) as f:
            out = f.name
        try:
            cmd = [sys.executable, __file__, '--child', '--devices', str(count), '--output', out,
                   '--sizes', *map(str, sizes_mb)]
            cmd += ['--quick'] if quick else []
            cmd += ['--dir', directory] if directory else []
            cmd += ['--repeats', str(repeats)] if repeats else []
            print(f'bench_checkpoint: {count} device(s), sizes {list(sizes_mb)} MB ...', flush=True)
            subprocess.run(cmd, check=True)
            rows += json.loads(Path(out).read_text())
        finally:
            os.unlink(out)
    return {'benchmark': 'checkpoint save/restore throughput and save() blocking',
            'quick': quick, 'units': {'mb': '10**6 bytes', 'mb_s': '10**6 bytes per second'},
            'notes': [READ_NOTE, MSGPACK_NOTE], 'machine': machine_info(directory),
            'results': rows, 'targets': targets(rows)}


def _span(s: dict, fmt: str = '{:.0f}') -> str:
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}-{fmt.format(s['max'])})"


def markdown(result: dict) -> str:
    """The results as Markdown tables: per device count and size, then the targets."""
    lines = []
    for row in result['results']:
        d = row['disk']
        limit = d['write_fsync_mb_s']['median']
        lines += [f"\n**{row['devices']} device(s), {row['megabytes']:g} MB** "
                  f"({row['leaves']} leaves, {row['repeats']} repeats; median (min-max))\n",
                  '| method | save MB/s | % of disk write | restore MB/s | save() blocks ms |',
                  '|---|---:|---:|---:|---:|',
                  f"| disk: write + fsync / read | {_span(d['write_fsync_mb_s'])} | 100% | "
                  f"{_span(d['read_mb_s'])} | |",
                  f"| disk: write, no fsync | {_span(d['write_mb_s'])} | | | |"]
        for name, m in row['methods'].items():
            share = m['save_mb_s']['median'] / limit
            lines.append(f"| {name} | {_span(m['save_mb_s'])} | {share:.0%} | "
                         f"{_span(m['restore_mb_s'])} | {_span(m['blocked_ms'], '{:.1f}')} |")
    if result['targets']:
        lines += ['\n| target | where | measured | met |', '|---|---|---:|---|']
        lines += [f"| {t['target']} | {t['where']} | {t['measured']} | {'yes' if t['met'] else 'NO'} |"
                  for t in result['targets']]
    lines += [''] + [f'- {note}' for note in result['notes']]
    return '\n'.join(lines).lstrip('\n')


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='10 MB only, 3 repeats')
    parser.add_argument('--sizes', type=float, nargs='+', default=None, help='MB per pytree')
    parser.add_argument('--devices', type=int, nargs='+', default=list(DEVICE_COUNTS))
    parser.add_argument('--repeats', type=int, default=None)
    parser.add_argument('--dir', default=None, help='scratch directory (default: system temp)')
    parser.add_argument('--output', default=str(RESULTS))
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = list(QUICK_SIZES_MB if args.quick else SIZES_MB)
    if args.child:
        args.devices = args.devices[0]
        return _child(args)
    result = run(tuple(args.sizes), args.quick, tuple(args.devices), args.dir, args.repeats)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1) + '\n')
    print(markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

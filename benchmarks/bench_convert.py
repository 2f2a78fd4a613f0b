"""Benchmark: convert_legacy throughput vs a plain copy of the same bytes on the same disk.

    python benchmarks/bench_convert.py            # 4 steps x 256 MiB, 3 repeats
    python benchmarks/bench_convert.py --quick    # 2 steps x 25 MiB (CI-sized)

Writes benchmarks/results/convert.json and prints a Markdown table. The copy
baseline is shutil.copyfile + fsync per step file; conversion includes reading,
writing with Orbax and verifying by restoring and comparing every leaf.
"""

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ckpt_widgets.migrate.convert import convert_legacy  # pylint: disable=g-import-not-at-top

logging.getLogger('absl').setLevel(logging.ERROR)
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results', 'convert.json')


def write_legacy_steps(directory: str, steps: int, mib_per_step: int) -> int:
    """Writes Flax msgpack steps of float32 'params' in 8 arrays; returns total bytes."""
    from flax.training import checkpoints  # pylint: disable=g-import-not-at-top

    from ckpt_widgets.runtime import flax_msgpack_writer  # pylint: disable=g-import-not-at-top

    rng = np.random.default_rng(0)
    per_array = mib_per_step * 2**20 // 8 // 4
    tree = {'params': {f'layer_{i}': rng.standard_normal(per_array, dtype=np.float32) for i in range(8)}}
    with flax_msgpack_writer(hide_deprecation=True):
        for step in range(1, steps + 1):
            tree['step'] = step
            checkpoints.save_checkpoint(directory, tree, step * 100, keep=steps)
    return sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory))


def timed_copy(src: str, dst: str) -> float:
    os.makedirs(dst)
    start = time.perf_counter()
    for name in sorted(os.listdir(src)):
        target = os.path.join(dst, name)
        shutil.copyfile(os.path.join(src, name), target)
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)  # The conversion's files are durable too; compare like with like.
        finally:
            os.close(fd)
    return time.perf_counter() - start


def timed_convert(src: str, dst: str) -> float:
    start = time.perf_counter()
    report = convert_legacy(src, dst, progress=False)
    seconds = time.perf_counter() - start
    if not report.ok:
        raise RuntimeError(f'conversion failed:\n{report}')
    return seconds


def summary(values: list[float]) -> dict[str, float]:
    return {
        'median': statistics.median(values),
        'min': min(values),
        'max': max(values),
        'runs': values,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='~50 MiB instead of ~1 GiB')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--dir', default=None, help='scratch directory (default: system temp)')
    parser.add_argument('--output', default=RESULTS)
    args = parser.parse_args()
    steps, mib = (2, 25) if args.quick else (4, 256)

    with tempfile.TemporaryDirectory(dir=args.dir, prefix='bench_convert_') as scratch:
        src = os.path.join(scratch, 'flax')
        total = write_legacy_steps(src, steps, mib)
        copy_mbs, convert_mbs = [], []
        for i in range(args.repeats):
            # Alternate order so neither side always gets the warmer page cache.
            order = [('copy', timed_copy), ('convert', timed_convert)]
            for name, fn in order if i % 2 == 0 else order[::-1]:
                dst = os.path.join(scratch, f'{name}_{i}')
                seconds = fn(src, dst)
                (copy_mbs if name == 'copy' else convert_mbs).append(total / 2**20 / seconds)
                shutil.rmtree(dst)

    result = {
        'benchmark': 'convert_legacy vs copyfile+fsync',
        'steps': steps,
        'mib_per_step': mib,
        'total_mib': round(total / 2**20, 1),
        'repeats': args.repeats,
        'copy_mib_s': summary(copy_mbs),
        'convert_mib_s': summary(convert_mbs),
        'convert_over_copy_median': statistics.median(convert_mbs) / statistics.median(copy_mbs),
        'machine': {'python': platform.python_version(), 'cpus': os.cpu_count(), 'platform': platform.platform()},
    }
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, 'w') as f:
        json.dump(result, f, indent=1)
    print(f'{steps} steps x {mib} MiB ({result["total_mib"]} MiB), {args.repeats} repeats\n')
    print('| method | median MiB/s | min | max |')
    print('|---|---:|---:|---:|')
    for name, key in [('copyfile + fsync', 'copy_mib_s'), ('convert_legacy', 'convert_mib_s')]:
        s = result[key]
        print(f'| {name} | {s["median"]:.0f} | {s["min"]:.0f} | {s["max"]:.0f} |')
    print(f'\nconvert / copy (medians): {result["convert_over_copy_median"]:.0%}')


if __name__ == '__main__':
    main()

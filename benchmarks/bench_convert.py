"""Benchmark: convert_legacy throughput vs a plain copy of the same bytes on the same disk.

    python benchmarks/bench_convert.py            # 4 steps x 256 MiB, 3 repeats
    python benchmarks/bench_convert.py --quick    # 2 steps x 25 MiB (CI-sized)

Writes benchmarks/results/convert.json and prints a Markdown table. The copy
baseline is shutil.copyfile + fsync per step file; conversion includes reading,
writing with Orbax and verifying by restoring and comparing every leaf.

The profile (one more conversion under cProfile and getrusage) says where the time goes:
the phases of the conversion, and user vs kernel CPU seconds. It also measures how fast this
machine hands out fresh memory (bench_memory.py): on a VM that returns free memory to its host,
first touching memory is far slower than reusing it, and a conversion allocates every step
it reads and restores, where a copy allocates nothing.
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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_memory import first_touch_mib_s, profiled  # noqa: E402  pylint: disable=g-import-not-at-top

from ckpt_widgets.migrate.convert import convert_legacy  # noqa: E402  pylint: disable=g-import-not-at-top

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


def profiled_convert(src: str, dst: str, total_bytes: int) -> dict:
    """One conversion under cProfile + getrusage: its phases, and user vs kernel CPU seconds."""
    import cProfile
    import pstats

    phases = {  # label: (file the function is in, function name), as cProfile keys them
        'save (Orbax, until durable)': ('orbax/checkpoint/checkpoint_manager.py', 'save'),
        'restore (verification)': ('orbax/checkpoint/checkpoint_manager.py', 'restore'),
        'compare (verification)': ('migrate/convert.py', 'tree_differences')}
    profiler, reports = cProfile.Profile(), []

    def convert():
        profiler.enable()
        reports.append(convert_legacy(src, dst, progress=False))
        profiler.disable()

    figures = profiled(convert, total_bytes)
    if not reports[0].ok:
        raise RuntimeError(f'conversion failed:\n{reports[0]}')
    stats = pstats.Stats(profiler).stats
    seconds = {label: round(sum(row[3] for (file, _, func), row in stats.items()
                                if func == name and file.endswith(where)), 3)
               for label, (where, name) in phases.items()}
    seconds['the rest: waiting for the next read (msgpack, in a thread), set-up'] = round(
        figures['wall_s'] - sum(seconds.values()), 3)
    return {**figures, 'phases_s': seconds}


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
        profile = profiled_convert(src, os.path.join(scratch, 'profiled'), total)
        memory = first_touch_mib_s()

    result = {
        'benchmark': 'convert_legacy vs copyfile+fsync',
        'steps': steps,
        'mib_per_step': mib,
        'total_mib': round(total / 2**20, 1),
        'repeats': args.repeats,
        'copy_mib_s': summary(copy_mbs),
        'convert_mib_s': summary(convert_mbs),
        'convert_over_copy_median': statistics.median(convert_mbs) / statistics.median(copy_mbs),
        'profile': profile,
        'memory_first_touch': memory,
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
    print(f'\nprofile of one conversion ({profile["wall_s"]:.2f} s): '
          + ', '.join(f'{k} {v:.2f} s' for k, v in profile['phases_s'].items()))
    print(f'CPU seconds (all threads): user {profile["user_cpu_s"]:.2f}, kernel {profile["kernel_cpu_s"]:.2f}')
    print(f'this machine touches fresh memory at {memory["fresh_mib_s"]} MiB/s, '
          f'memory it just freed at {memory["just_freed_mib_s"]} MiB/s')


if __name__ == '__main__':
    main()

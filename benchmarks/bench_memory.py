"""Profile: what bounds a big restore (and the converter) on this machine: fresh memory.

    python benchmarks/bench_memory.py            # 1000 MB, 3 repeats
    python benchmarks/bench_memory.py --quick    # 50 MB, 1 repeat (checks the script)

A restore has to put its result in memory the process did not have before. On a VM that hands
idle free memory back to its host (virtio-balloon free page reporting), touching such memory is
far slower than reusing memory just freed, and the kernel, not the process, spends that time.
This script measures, in one process:

- how fast this machine hands out fresh memory, and memory the process just freed;
- the 1-device restore of bench_tuning's `recipe` (zstd off, 16 MB chunks), into jax.Array and
  into numpy, and the plain read of the same files into new buffers (how costs.disk_limit
  measures the disk's read limit), each from a cold page cache twice: "cold memory" after
  4 s of idleness, and "warm memory" right after the same run freed its memory. Same code, same
  files, same disk: the difference between the two is what memory costs. User and kernel CPU
  seconds say who spent the time (kernel seconds close to the wall time: neither the disk nor
  Python is the bound).

Writes benchmarks/results/memory.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from ckpt_widgets.lab import costs, tuning  # noqa: E402

RESULTS = HERE / 'results' / 'memory.json'
IDLE_S = 4.0  # long enough for free page reporting (2 s delay in Linux) to hand memory back


def first_touch_mib_s(mib: int = 512, idle_s: float = IDLE_S) -> dict[str, int]:
    """MiB/s of touching memory after `idle_s` of idleness, and of memory just freed."""
    import numpy as np

    time.sleep(idle_s)
    rates = {}
    for key in ('fresh_mib_s', 'just_freed_mib_s'):
        start = time.perf_counter()
        block = np.ones(mib * 2**20 // 4, np.float32)
        rates[key] = round(mib / (time.perf_counter() - start))
        del block
    return rates


def profiled(fn: Callable[[], Any], nbytes: int) -> dict[str, float]:
    """Throughput, wall time, and user and kernel CPU seconds (all threads) of `fn()`."""
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    fn()
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    return {'mb_s': round(nbytes / 1e6 / wall), 'wall_s': round(wall, 3),
            'user_cpu_s': round(after.ru_utime - before.ru_utime, 3),
            'kernel_cpu_s': round(after.ru_stime - before.ru_stime, 3)}


def restore_profiles(megabytes: float, repeats: int, directory: Path,
                     idle_s: float = IDLE_S) -> dict[str, dict[str, list[dict]]]:
    """Each way of reading the recipe's checkpoint back, `repeats` times, from a cold page
    cache; 'cold' runs wait `idle_s` first."""
    import jax
    import numpy as np
    import orbax.checkpoint as ocp

    tree = costs.float32_tree(megabytes)
    nbytes = costs.tree_bytes(tree)
    method = tuning.OPTIONS['recipe']()
    method.save(directory, tree)
    method.finish()
    abstract = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding), tree)
    as_numpy = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), abstract)
    files = sorted(p for p in directory.rglob('*') if p.is_file())

    def plain_read():
        for file in files:
            buffer = np.empty(file.stat().st_size, np.uint8)
            with open(file, 'rb', buffering=0) as f:
                f.readinto(memoryview(buffer))

    ways = {
        'restore -> jax.Array (recipe)': lambda: jax.block_until_ready(method.restore(directory, abstract)),
        'restore -> numpy (recipe)': lambda: method.ckptr.restore(
            directory / 'ckpt', args=ocp.args.PyTreeRestore(abstract, restore_args=as_numpy)),
        'plain read of the same files into fresh buffers': plain_read,
    }
    runs: dict[str, dict[str, list[dict]]] = {name: {'cold': [], 'warm': []} for name in ways}
    for _ in range(repeats):
        for name, way in ways.items():
            for memory in ('cold', 'warm'):
                costs.drop_page_cache(directory)
                if memory == 'cold':
                    time.sleep(idle_s)
                runs[name][memory].append(profiled(way, nbytes))
    method.close()
    return runs


def markdown(result: dict) -> str:
    touch = result['memory']
    lines = [f"Fresh memory: {touch['fresh_mib_s']} MiB/s; memory just freed: "
             f"{touch['just_freed_mib_s']} MiB/s.", '',
             f"**{result['megabytes']:.0f} MB on 1 device**, from a cold page cache (median of "
             f"{result['repeats']})", '',
             '| way | memory | MB/s | wall s | user CPU s | kernel CPU s |',
             '|---|---|---:|---:|---:|---:|']
    for name, by_memory in result['runs'].items():
        for memory, runs in by_memory.items():
            mid = sorted(runs, key=lambda r: r['wall_s'])[len(runs) // 2]
            lines.append(f"| {name} | {memory} | {mid['mb_s']} | {mid['wall_s']:.2f} | "
                         f"{mid['user_cpu_s']:.2f} | {mid['kernel_cpu_s']:.2f} |")
    return '\n'.join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='50 MB, 1 repeat')
    parser.add_argument('--dir', default=None, help='scratch directory (default: system temp)')
    parser.add_argument('--output', default=str(RESULTS))
    args = parser.parse_args(argv)
    megabytes, repeats = (50, 1) if args.quick else (1000, 3)
    scratch = Path(tempfile.mkdtemp(prefix='bench_memory_', dir=args.dir))
    try:
        result = {'benchmark': 'what bounds a restore: fresh memory', 'megabytes': megabytes,
                  'repeats': repeats, 'memory': first_touch_mib_s(),
                  'runs': restore_profiles(megabytes, repeats, scratch),
                  'load_average': os.getloadavg()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1) + '\n')
    print(markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

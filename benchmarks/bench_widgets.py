"""What the views cost: scan + render of a big directory, a big pytree, following a loop.

    python benchmarks/bench_widgets.py           # full: 1,000 steps / ~11,000 files, 10,000 leaves
    python benchmarks/bench_widgets.py --quick   # CI-sized

Targets (ckpt_widgets issue): scan + render of 1,000 steps / 10,000 files under 200 ms; a pytree
of 10,000 leaves under 200 ms; following a loop that saves every step adds under 5 % to its
wall time. Results: benchmarks/results/widgets.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def make_steps(root: Path, steps: int) -> int:
    """A CheckpointManager-shaped directory: `steps` steps of 11 files each, written fast."""
    files = 0
    for step in range(steps):
        item = root / str(step) / 'default'
        for d in (item / 'd', item / 'ocdbt.process_0' / 'd', item / 'array_metadatas'):
            d.mkdir(parents=True)
        for f in (root / str(step) / '_CHECKPOINT_METADATA', root / str(step) / 'commit_success.txt',
                  item / '_METADATA', item / 'manifest.ocdbt', item / 'commit_success.txt',
                  item / '_sharding', item / 'd' / 'a1b2', item / 'd' / 'c3d4',
                  item / 'ocdbt.process_0' / 'manifest.ocdbt', item / 'ocdbt.process_0' / 'd' / 'e5f6',
                  item / 'array_metadatas' / 'process_0'):
            f.write_bytes(b'x' * 64)
            files += 1
    return files


def timed(fn, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {'median_ms': round(statistics.median(times) * 1000, 2),
            'min_ms': round(min(times) * 1000, 2), 'max_ms': round(max(times) * 1000, 2),
            'repeat': repeat}


def follow_overhead(workdir: Path, steps: int, repeat: int) -> dict:
    """Wall time of a loop saving every step, with and without a following view."""
    import numpy as np
    import orbax.checkpoint as ocp

    import ckpt_widgets as cw

    tree = {'w': np.ones((256, 256), np.float32), 'b': np.zeros(256, np.float32)}

    def loop(follow: bool) -> float:
        directory = workdir / f'loop-{follow}-{time.perf_counter_ns()}'
        options = ocp.CheckpointManagerOptions(max_to_keep=3)
        start = time.perf_counter()
        with ocp.CheckpointManager(directory, options=options) as mngr:
            view = cw.RetainedSteps(mngr)
            if follow:
                with view.follow(every=0.1):
                    for step in range(steps):
                        mngr.save(step, args=ocp.args.StandardSave(tree))
                    mngr.wait_until_finished()
            else:
                for step in range(steps):
                    mngr.save(step, args=ocp.args.StandardSave(tree))
                mngr.wait_until_finished()
        elapsed = time.perf_counter() - start
        shutil.rmtree(directory)
        return elapsed

    loop(False), loop(True)  # warm up Orbax's thread pools and code paths
    plain, followed = [], []
    for i in range(repeat):  # interleaved pairs, alternating which goes first, so that machine
        first = bool(i % 2)  # load and any drift hit both alike
        a, b = loop(first), loop(not first)
        plain.append(b if first else a)
        followed.append(a if first else b)
    p, f = statistics.median(plain), statistics.median(followed)
    # One overhead per pair: its spread says how far one figure can be trusted on this machine.
    pairs = sorted((fo - pl) / pl * 100 for pl, fo in zip(plain, followed, strict=True))
    quartiles = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else pairs * 3
    return {'steps': steps, 'plain_s': round(p, 3), 'followed_s': round(f, 3),
            'overhead_pct': round((f - p) / p * 100, 1),
            'pair_overhead_pct': {'median': round(statistics.median(pairs), 1),
                                  'q1': round(quartiles[0], 1), 'q3': round(quartiles[-1], 1),
                                  'min': round(pairs[0], 1), 'max': round(pairs[-1], 1)},
            'repeat': repeat, 'load_average': [round(x, 2) for x in os.getloadavg()]}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='a CI-sized run')
    parser.add_argument('--out', type=Path, default=HERE / 'results' / 'widgets.json')
    args = parser.parse_args(argv)

    import ckpt_widgets as cw
    cw.use_host_devices(8)
    cw.quiet_logs()

    steps, leaves, repeat = (200, 2_000, 3) if args.quick else (1_000, 10_000, 7)
    workdir = Path(tempfile.mkdtemp(prefix='bench-widgets-'))
    try:
        files = make_steps(workdir / 'steps', steps)
        results = {
            'machine': {'cpus': os.cpu_count(), 'python': platform.python_version(),
                        'platform': platform.platform()},
            'quick': args.quick,
            'directory_tree': {'steps': steps, 'files': files,
                               **timed(lambda: cw.DirectoryTree(workdir / 'steps'), repeat)},
            'retained_steps': {'steps': steps,
                               **timed(lambda: cw.RetainedSteps(workdir / 'steps'), repeat)},
            'pytree_view': {'leaves': leaves,
                            **timed(lambda: cw.PytreeView(list(range(leaves))), repeat)},
            'compare': {'leaves': leaves,
                        **timed(lambda: cw.compare(list(range(leaves)), list(range(leaves))), repeat)},
            # Enough saves and pairs that the figure is stable under load (see the spread).
            'follow': follow_overhead(workdir, 50 if args.quick else 100, 10 if args.quick else 15),
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + '\n')
    print(markdown(results))
    return 0


def _spread(f: dict) -> str:
    pairs = f.get('pair_overhead_pct')
    if not pairs:
        return ''
    return (f"; per pair median {pairs['median']:+} %, quartiles {pairs['q1']:+} to "
            f"{pairs['q3']:+} %, range {pairs['min']:+} to {pairs['max']:+} %")


def markdown(r: dict) -> str:
    f = r['follow']
    rows = [
        ('DirectoryTree scan + render', f"{r['directory_tree']['steps']} steps / "
         f"{r['directory_tree']['files']} files", f"{r['directory_tree']['median_ms']} ms", '< 200 ms'),
        ('RetainedSteps scan + explain + render', f"{r['retained_steps']['steps']} steps",
         f"{r['retained_steps']['median_ms']} ms", '< 200 ms'),
        ('PytreeView', f"{r['pytree_view']['leaves']} leaves", f"{r['pytree_view']['median_ms']} ms",
         '< 200 ms'),
        ('compare', f"{r['compare']['leaves']} leaves", f"{r['compare']['median_ms']} ms", ''),
        ('follow() during a save loop', f"{f['steps']} saves x {f['repeat']} pairs",
         f"{f['overhead_pct']:+} % ({f['plain_s']} s -> {f['followed_s']} s){_spread(f)}", '< 5 %'),
    ]
    lines = ['| what | size | median | target |', '|---|---|---|---|']
    lines += [f'| {a} | {b} | {c} | {d} |' for a, b, c, d in rows]
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

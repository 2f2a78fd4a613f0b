"""Run every benchmark and write one report: what checkpointing costs, and what the tutorial costs.

    python benchmarks/run_all.py           # full: 10 MB-1 GB on 1 and 8 devices, every notebook + suite
    python benchmarks/run_all.py --quick   # CI-sized (< 3 min on 2 cores): 10 MB, 2 notebooks

Runs, each in its own process: bench_checkpoint.py (save/restore throughput and save() blocking
against the disk's limit), bench_widgets.py (what the ckpt_widgets views cost), bench_board.py
(the class board of 500 learners) and
bench_notebooks.py (nbval wall time per notebook). Full results go to benchmarks/results/*.json
and benchmarks/results/README.md; --quick results to benchmarks/results/quick/, so a CI run
never overwrites the full numbers. The targets are reported in the tables, not asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_board  # noqa: E402
import bench_checkpoint  # noqa: E402
import bench_notebooks  # noqa: E402
import bench_widgets  # noqa: E402

QUICK_NOTEBOOKS = ['notebooks/00_setup.ipynb', 'notebooks/10_performance.ipynb']


def run_script(script: str, *args: str) -> None:
    subprocess.run([sys.executable, str(HERE / script), *args], check=True)


def report(out: Path, quick: bool, seconds: float) -> str:
    """The Markdown report built from the JSON files in `out`."""
    checkpoint = json.loads((out / 'checkpoint.json').read_text())
    machine = checkpoint['machine']
    disk = machine['disk']
    versions = ', '.join(f'{k} {v}' for k, v in machine['versions'].items())
    kind = 'quick (CI-sized)' if quick else 'full'
    lines = [
        f'# Benchmark results ({kind} run)',
        '',
        f'Produced by `python benchmarks/run_all.py{" --quick" if quick else ""}` on '
        f"{machine['date']} (checkpoint runs ended), {seconds / 60:.1f} min in all. "
        "Numbers from a shared or busy machine are "
        'noisy: compare medians, and look at the spread (min-max).',
        '',
        '| machine | |',
        '|---|---|',
        f"| CPUs | {machine['cpus']} x {machine['cpu_model'] or 'unknown model'} |",
        f"| disk | {disk.get('device', '?')} ({disk.get('fstype', '?')} on {disk.get('mount', '?')}"
        f"{', kernel rotational flag ' + disk['rotational'] if disk.get('rotational') else ''}"
        f"{', model ' + disk['model'] if disk.get('model') else ''}) |",
        f"| system | {machine['platform']}, Python {machine['python']} |",
        f'| versions | {versions} |',
        f"| load average | {' / '.join(map(str, machine['load_average']))} (1/5/15 min, when the "
        'checkpoint runs ended; above the CPU count means other work competed for the cores) |',
        '',
        '## Checkpoint throughput and save() blocking time',
        '',
        'MB = 10^6 bytes. "% of disk write" = save MB/s over the same bytes written as plain files '
        "with write + fsync in the same run: the disk's own limit. \"save() blocks\" = how long the "
        'training loop stands still; for synchronous methods that is the whole save.',
        '',
        bench_checkpoint.markdown(checkpoint),
        '',
        '## Notebooks under strict nbval',
        '',
        bench_notebooks.markdown(json.loads((out / 'notebooks.json').read_text())),
        '',
        '## ckpt_widgets views (from bench_widgets.py)',
        '',
        bench_widgets.markdown(json.loads((out / 'widgets.json').read_text())),
        '',
        '## The class board (from bench_board.py)',
        '',
        bench_board.markdown(json.loads((out / 'board.json').read_text())),
        '',
    ]
    return '\n'.join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='a CI-sized run (< 3 minutes)')
    parser.add_argument('--dir', default=None, help='scratch directory for checkpoints')
    args = parser.parse_args(argv)
    out = HERE / 'results' / ('quick' if args.quick else '')
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    quick = ['--quick'] if args.quick else []
    scratch = ['--dir', args.dir] if args.dir else []
    run_script('bench_checkpoint.py', *quick, *scratch, '--output', str(out / 'checkpoint.json'))
    run_script('bench_widgets.py', *quick, '--out', str(out / 'widgets.json'))
    run_script('bench_board.py', *quick, '--out', str(out / 'board.json'))
    # Quick: the notebooks that exist of QUICK_NOTEBOOKS, no suite run; full: all + the suite.
    notebooks = [nb for nb in QUICK_NOTEBOOKS if (HERE.parent / nb).exists()] if args.quick else []
    if args.quick and not notebooks:
        raise SystemExit(f'none of {QUICK_NOTEBOOKS} exists')
    run_script('bench_notebooks.py', *notebooks, '--repeats', '1' if args.quick else '3',
               '--output', str(out / 'notebooks.json'))
    text = report(out, args.quick, time.perf_counter() - start)
    (out / 'README.md').write_text(text)
    print(f'\n{text}\nWritten: {out.relative_to(HERE.parent)}/README.md and *.json')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

"""Benchmark: each notebook's wall time under strict nbval, and the whole suite's.

    python benchmarks/bench_notebooks.py                          # every notebooks/*.ipynb + the suite
    python benchmarks/bench_notebooks.py notebooks/00_setup.ipynb  # just these, no suite run

Each notebook runs in its own `python -m pytest --nbval --nbval-current-env
--nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/X.ipynb` (so its time includes pytest's
start-up, ~3 s); the suite runs as `make test-notebooks` runs it: the same command over the
notebooks/ folder with `-n auto --dist loadfile` (a notebook per core at a time). Target (issue 16):
the whole suite <= 60 s on 2 cores, each notebook <= 10 s (08 and 09: <= 20 s). Writes
benchmarks/results/notebooks.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / 'results' / 'notebooks.json'
NBVAL = ['--nbval', '--nbval-current-env', '--nbval-sanitize-with', 'tests/nbval_sanitize.cfg',
         '-p', 'no:hypothesispytest']  # as the Makefile's NBVAL
SUITE = ['-n', 'auto', '--dist', 'loadfile']  # as `make test-notebooks` runs the suite
SUITE_TARGET_S = 60.0
NOTEBOOK_TARGET_S = 10.0
SLOW_NOTEBOOK_TARGET_S = {'08_multi_process.ipynb': 20.0, '09_failures_and_recovery.ipynb': 20.0}


def timed_nbval(target: str, *extra: str) -> dict:
    """Wall time and outcome of one nbval run over `target` (a notebook or a folder)."""
    cmd = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', *NBVAL, *extra, target]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    tail = (proc.stdout.strip().splitlines() or [''])[-1]
    # pytest's exit 5 is "no tests collected": a notebook without code cells has nothing to fail.
    return {'target': target, 'seconds': round(seconds, 2), 'passed': proc.returncode in (0, 5),
            'summary': tail}


def run(notebooks: list[str] | None = None, suite: bool | None = None, repeats: int = 1) -> dict:
    """Time each notebook (default: all) `repeats` times, then the suite (default: only when
    timing all). A notebook's `seconds` is the median of its runs; `runs` keeps them all."""
    everything = notebooks is None
    notebooks = notebooks or sorted(str(p.relative_to(ROOT)) for p in (ROOT / 'notebooks').glob('*.ipynb'))
    rows = []
    for nb in notebooks:
        print(f'bench_notebooks: {nb} ...', flush=True)
        runs = [timed_nbval(nb) for _ in range(repeats)]
        seconds = [r['seconds'] for r in runs]
        rows.append({**runs[0], 'seconds': statistics.median(seconds), 'runs': seconds,
                     'passed': all(r['passed'] for r in runs)})
    result = {'benchmark': 'nbval wall time per notebook', 'notebooks': rows,
              'sum_of_notebooks_s': round(sum(r['seconds'] for r in rows), 2),
              'suite': None, 'suite_target_s': SUITE_TARGET_S}
    if suite if suite is not None else everything:
        print('bench_notebooks: the whole suite ...', flush=True)
        result['suite'] = timed_nbval('notebooks', *SUITE)
    return result


def target_s(notebook: str) -> float:
    """The wall-time target of one notebook under nbval (issue 16).

    >>> target_s('08_multi_process.ipynb'), target_s('00_setup.ipynb')
    (20.0, 10.0)
    """
    return SLOW_NOTEBOOK_TARGET_S.get(notebook, NOTEBOOK_TARGET_S)


def markdown(result: dict) -> str:
    lines = ['| notebook | nbval wall time (median, min-max) | target | passed |', '|---|---:|---|---|']
    for r in result['notebooks']:
        name = Path(r['target']).name
        target = target_s(name)
        met = 'met' if r['seconds'] <= target else 'NOT met'
        runs = r.get('runs', [])
        spread = f" ({min(runs):.1f}-{max(runs):.1f})" if len(runs) > 1 else ''
        lines.append(f"| {name} | {r['seconds']:.1f} s{spread} | <= {target:.0f} s: {met} | "
                     f"{'yes' if r['passed'] else 'NO'} |")
    lines.append(f"| sum of the runs above (one pytest start-up each) | "
                 f"{result['sum_of_notebooks_s']:.1f} s | | |")
    suite = result['suite']
    if suite:
        met = 'met' if suite['seconds'] <= result['suite_target_s'] else 'NOT met'
        lines.append(f"| **whole suite, one pytest run, {' '.join(SUITE)}** | {suite['seconds']:.1f} s | "
                     f"<= {result['suite_target_s']:.0f} s: {met} | {'yes' if suite['passed'] else 'NO'} |")
    return '\n'.join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('notebooks', nargs='*', help='default: every notebooks/*.ipynb')
    parser.add_argument('--suite', action=argparse.BooleanOptionalAction, default=None,
                        help='also time the whole suite in one run (default: when timing all)')
    parser.add_argument('--repeats', type=int, default=3, help='runs per notebook (median reported)')
    parser.add_argument('--output', default=str(RESULTS))
    args = parser.parse_args(argv)
    result = run(args.notebooks or None, args.suite, args.repeats)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1) + '\n')
    print(markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

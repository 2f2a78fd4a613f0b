"""Benchmark: each notebook's wall time under strict nbval, and the whole suite's.

    python benchmarks/bench_notebooks.py                          # every notebooks/*.ipynb + the suite
    python benchmarks/bench_notebooks.py notebooks/00_setup.ipynb  # just these, no suite run

Each notebook runs in its own `python -m pytest --nbval --nbval-current-env
--nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/X.ipynb` (so its time includes pytest's
start-up, ~2.5 s); the suite is the same command over the notebooks/ folder, as `make
test-notebooks` runs it. Target (issue 9): the whole suite <= 90 s on 2 cores. Writes
benchmarks/results/notebooks.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / 'results' / 'notebooks.json'
NBVAL = ['--nbval', '--nbval-current-env', '--nbval-sanitize-with', 'tests/nbval_sanitize.cfg']
SUITE_TARGET_S = 90.0


def timed_nbval(target: str) -> dict:
    """Wall time and outcome of one nbval run over `target` (a notebook or a folder)."""
    cmd = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', *NBVAL, target]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    tail = (proc.stdout.strip().splitlines() or [''])[-1]
    # pytest's exit 5 is "no tests collected": a notebook without code cells has nothing to fail.
    return {'target': target, 'seconds': round(seconds, 2), 'passed': proc.returncode in (0, 5),
            'summary': tail}


def run(notebooks: list[str] | None = None, suite: bool | None = None) -> dict:
    """Time each notebook (default: all), then the suite (default: only when timing all)."""
    everything = notebooks is None
    notebooks = notebooks or sorted(str(p.relative_to(ROOT)) for p in (ROOT / 'notebooks').glob('*.ipynb'))
    rows = []
    for nb in notebooks:
        print(f'bench_notebooks: {nb} ...', flush=True)
        rows.append(timed_nbval(nb))
    result = {'benchmark': 'nbval wall time per notebook', 'notebooks': rows,
              'sum_of_notebooks_s': round(sum(r['seconds'] for r in rows), 2),
              'suite': None, 'suite_target_s': SUITE_TARGET_S}
    if suite if suite is not None else everything:
        print('bench_notebooks: the whole suite ...', flush=True)
        result['suite'] = timed_nbval('notebooks')
    return result


def markdown(result: dict) -> str:
    lines = ['| notebook | nbval wall time | passed |', '|---|---:|---|']
    lines += [f"| {Path(r['target']).name} | {r['seconds']:.1f} s | {'yes' if r['passed'] else 'NO'} |"
              for r in result['notebooks']]
    lines.append(f"| sum of the runs above (one pytest start-up each) | "
                 f"{result['sum_of_notebooks_s']:.1f} s | |")
    suite = result['suite']
    if suite:
        met = 'met' if suite['seconds'] <= result['suite_target_s'] else 'NOT met'
        lines.append(f"| **whole suite, one pytest run** (target <= {result['suite_target_s']:.0f} s: "
                     f"{met}) | {suite['seconds']:.1f} s | {'yes' if suite['passed'] else 'NO'} |")
    return '\n'.join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('notebooks', nargs='*', help='default: every notebooks/*.ipynb')
    parser.add_argument('--suite', action=argparse.BooleanOptionalAction, default=None,
                        help='also time the whole suite in one run (default: when timing all)')
    parser.add_argument('--output', default=str(RESULTS))
    args = parser.parse_args(argv)
    result = run(args.notebooks or None, args.suite)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1) + '\n')
    print(markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

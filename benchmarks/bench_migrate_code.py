"""Benchmark: `ckpt-lab migrate-code` on a 50,000-line tree of Python with 200 legacy calls.

    python benchmarks/bench_migrate_code.py           # 50,000 lines, 200 calls, 3 repeats
    python benchmarks/bench_migrate_code.py --quick   # 5,000 lines, 20 calls, 1 repeat

Generates 100 modules of ordinary code (functions, classes, comments, a project's own
`save_checkpoint` that must not be touched) with the legacy calls spread among them, then
times the whole command in a fresh process (wall time, and the CPU time of it and its worker
processes, which a busy shared machine inflates far less) (`python -m ckpt_widgets migrate-code DIR`: start-up,
parsing, analysis, rewriting, diff and report; nothing written) and the in-process rewrite
alone. Target: under 10 s. Writes benchmarks/results/migrate_code.json (--quick: quick/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

FILLER = '''

class Model{i}_{j}:
    """A model block ({i}, {j}) with nothing to do with checkpoints."""

    def __init__(self, width={j}):
        self.width = width  # a comment the rewrite must keep
        self.layers = [width * k for k in range(4)]

    def save_checkpoint(self, step):
        return {{'step': step, 'width': self.width}}

    def forward(self, x):
        total = 0
        for layer in self.layers:
            total += layer * x
        return total
'''
LEGACY = [
    '''

def save_{i}_{j}(workdir, state, steps):
    for step in steps:
        checkpoints.save_checkpoint(workdir, state, step, prefix='run_{j}_', keep=3)
''',
    '''

def restore_{i}_{j}(workdir, state):
    state = checkpoints.restore_checkpoint(workdir, state)
    return state
''',
]


def make_tree(root: Path, lines: int, calls: int, files: int = 100) -> tuple[int, int]:
    """Writes `files` modules with about `lines` lines and exactly `calls` legacy calls."""
    per_file_calls = calls // files or 1
    written_lines = written_calls = 0
    for i in range(files):
        parts = [f'"""Module {i} of a training project."""\nfrom flax.training import checkpoints\n'
                 ]
        for j in range(per_file_calls if written_calls < calls else 0):
            parts.append(LEGACY[j % 2].format(i=i, j=j))
            written_calls += 1
        j = 0
        text = ''.join(parts)
        while text.count('\n') < lines // files:
            text += FILLER.format(i=i, j=j)
            j += 1
        (root / f'module_{i:03d}.py').write_text(text)
        written_lines += text.count('\n')
    return written_lines, written_calls


def run(lines: int, calls: int, repeats: int) -> dict:
    from ckpt_widgets.migrate.code import migrate_paths
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / 'project'
        root.mkdir()
        n_lines, n_calls = make_tree(root, lines, calls)
        command, cpu, inprocess, report = [], [], [], None
        for _ in range(repeats):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, '-m', 'ckpt_widgets', 'migrate-code', str(root)],
                                  capture_output=True, text=True, check=False)
            command.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command and its workers
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            assert done.returncode == 0, done.stderr[-2000:]
            start = time.perf_counter()
            report = migrate_paths([str(root)])
            inprocess.append(time.perf_counter() - start)
        rewritten = report.count('rewritten')
    return {
        'lines': n_lines, 'legacy_calls': n_calls, 'rewritten': rewritten, 'repeats': repeats,
        'command_s': {'median': statistics.median(command), 'min': min(command), 'max': max(command)},
        'command_cpu_s': {'median': statistics.median(cpu), 'min': min(cpu), 'max': max(cpu)},
        'in_process_s': {'median': statistics.median(inprocess), 'min': min(inprocess),
                         'max': max(inprocess)},
        'target_s': 10.0,
        'machine': {'cpus': os.cpu_count(), 'load_1min': os.getloadavg()[0],
                    'python': platform.python_version(),
                    'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args(argv)
    lines, calls, repeats = (5_000, 20, 1) if args.quick else (50_000, 200, 3)
    result = run(lines, calls, repeats)
    out = HERE / 'results' / ('quick' if args.quick else '') / 'migrate_code.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + '\n')
    c, p = result['command_s'], result['in_process_s']
    u = result['command_cpu_s']
    print('| lines | legacy calls | rewritten | ckpt-lab migrate-code wall (median, min-max) '
          '| its CPU time (all processes) | in-process rewrite (1 process) | target | load (1 min) |')
    print('|---|---|---|---|---|---|---|---|')
    print(f"| {result['lines']:,} | {result['legacy_calls']} | {result['rewritten']} "
          f"| {c['median']:.2f} s ({c['min']:.2f}-{c['max']:.2f}) | {u['median']:.2f} s "
          f"| {p['median']:.2f} s | < {result['target_s']:.0f} s | {result['machine']['load_1min']:.1f} |")
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Where a notebook's seconds go: kernel start, then each cell, the slowest named by what it does.

    python benchmarks/nbval_time_report.py notebooks/10_performance.ipynb [more.ipynb ...]
    python benchmarks/nbval_time_report.py            # every notebook

Executes each notebook once in a fresh kernel (as nbval does, same working directory), timing
the kernel start and every code cell, and tags each slow cell by what its source does: imports,
sleeps / waits, JAX work that compiles, subprocesses, saves/restores. Prints a Markdown report
and writes benchmarks/results/nbval_time.json. Nothing is written into the notebooks.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / 'results' / 'nbval_time.json'

TAGS = [  # (tag, what in a cell's source suggests it)
    ('imports', re.compile(r'^\s*(import|from)\s+\w', re.M)),
    ('sleeps/waits', re.compile(r'time\.sleep|wait_until|wait_for|\.join\(|follow\(')),
    ('jax compile', re.compile(r'jax\.jit|jnp\.|\.init\(|\.apply\(|optax|device_put')),
    ('subprocess', re.compile(r'subprocess|multiprocess|crash|run_child|Popen')),
    ('save/restore', re.compile(r'\.save\(|\.restore\(|save_checkpoint|restore_checkpoint|'
                                r'\.load\(|measure\(')),
]


def tags_of(source: str) -> list[str]:
    return [tag for tag, pattern in TAGS if pattern.search(source)] or ['other']


def time_notebook(path: Path) -> dict:
    """Kernel start and per-cell seconds of one execution of `path`."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name='python3')
    start = time.perf_counter()
    km.start_kernel(cwd=str(path.parent))
    client = NotebookClient(nb, km=km, timeout=600, resources={'metadata': {'path': str(path.parent)}})
    cells = []
    try:
        with client.setup_kernel():
            kernel_s = time.perf_counter() - start
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != 'code':
                    continue
                t = time.perf_counter()
                client.execute_cell(cell, index)
                cells.append({'cell': index, 'seconds': round(time.perf_counter() - t, 3),
                              'tags': tags_of(cell.source),
                              'first_line': cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ''})
    finally:
        if km.is_alive():
            km.shutdown_kernel(now=True)
    total = kernel_s + sum(c['seconds'] for c in cells)
    by_tag: dict[str, float] = {}
    for c in cells:
        by_tag[c['tags'][0]] = round(by_tag.get(c['tags'][0], 0) + c['seconds'], 2)
    return {'notebook': str(path.relative_to(ROOT)), 'kernel_start_s': round(kernel_s, 2),
            'cells_s': round(total - kernel_s, 2), 'total_s': round(total, 2), 'by_first_tag': by_tag,
            'slowest': sorted(cells, key=lambda c: -c['seconds'])[:3]}


def markdown(rows: list[dict]) -> str:
    lines = ['| notebook | total s | kernel start s | by kind (first tag of each cell), s | slowest cells |',
             '|---|---:|---:|---|---|']
    for r in rows:
        kinds = ', '.join(f'{k} {v:.1f}' for k, v in sorted(r['by_first_tag'].items(), key=lambda kv: -kv[1]))
        slow = '; '.join(f"#{c['cell']} {c['seconds']:.1f} s `{c['first_line']}`" for c in r['slowest'])
        lines.append(f"| {Path(r['notebook']).stem} | {r['total_s']:.1f} | {r['kernel_start_s']:.1f} | "
                     f'{kinds} | {slow} |')
    return '\n'.join(lines)


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted((ROOT / 'notebooks').glob('*.ipynb'))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f'nbval_time_report.py: no such notebook: {missing[0]}', file=sys.stderr)
        return 2
    rows = []
    for path in paths:
        print(f'nbval_time_report: {path.name} ...', file=sys.stderr, flush=True)
        rows.append(time_notebook(path))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({'notebooks': rows}, indent=2) + '\n')
    print(markdown(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

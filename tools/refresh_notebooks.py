"""Re-execute notebooks and store their outputs the way nbval will compare them.

    python tools/refresh_notebooks.py                 # every notebooks/*.ipynb
    python tools/refresh_notebooks.py notebooks/01_training_loop.ipynb

Run through `make refresh`, which first syncs the pairs from md_sources/. What it does on top
of executing:
- starts the kernel with fd-level capture off, as the kernel under pytest/nbval runs, so that
  a C-level message either shows in both or in neither;
- drops the live-widget view from stored outputs and the widget state from the metadata:
  model ids are random and nbval never compares them, and without them GitHub, nbviewer and
  the static site show each view's text/html snapshot instead of "widget not found";
- records no timing metadata, so an unchanged notebook stays byte-for-byte unchanged.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
KERNEL_ARGS = ['--IPKernelApp.capture_fd_output=False']


def strip_volatile(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove widget views/state and execution timing from an executed notebook."""
    nb.metadata.pop('widgets', None)
    for cell in nb.cells:
        cell.metadata.pop('execution', None)
        for output in cell.get('outputs', []):
            if 'data' in output:
                output['data'].pop(WIDGET_VIEW, None)
    return nb


def refresh(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=600, kernel_name='python3', resources={
        'metadata': {'path': str(path.parent)}}, record_timing=False,
        extra_arguments=KERNEL_ARGS)
    client.execute()
    elapsed = time.perf_counter() - start
    nbformat.write(strip_volatile(nb), path)
    return elapsed


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / 'notebooks').glob('*.ipynb'))
    for path in paths:
        print(f'{path.name}: executing ...', flush=True)
        print(f'{path.name}: done in {refresh(path):.1f} s', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

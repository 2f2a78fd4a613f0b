"""Convert md_sources/*.md from jupytext's plain Markdown to MyST Markdown, cell for cell.

    python tools/to_myst.py          # convert every source that is not MyST yet (then: make sync)
    python tools/to_myst.py --check  # exit 1, naming the files, when a source is not MyST

MyST is what the JAX and Flax docs use (Sphinx + myst-nb), and jupytext.toml pairs the sources
as `md:myst`. Converting is mechanical: every cell keeps its type and its exact text (checked
before a file is written), so `make sync` leaves the notebooks' stored outputs as they are.
Sources that are already MyST are left alone, so running it again is harmless.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parent.parent


def is_myst(path: Path) -> bool:
    """True when a source's jupytext header says MyST."""
    header = path.read_text().split('\n---\n', 1)[0]
    return 'format_name: myst' in header


def cells(nb) -> list[tuple[str, str]]:
    # Only trailing blank lines may go (a file's last cell loses its final newline).
    return [(c.cell_type, c.source.rstrip('\n')) for c in nb.cells]


def converted(path: Path) -> str:
    """The MyST text of a source; raises ValueError when a cell would change."""
    nb = jupytext.read(path)
    text = jupytext.writes(nb, fmt='md:myst')
    again = jupytext.reads(text, fmt='md:myst')
    if cells(again) != cells(nb):
        raise ValueError(f'{path.name}: the MyST version would change a cell; convert it by hand')
    return text


def main(argv: list[str]) -> int:
    todo = [p for p in sorted((ROOT / 'md_sources').glob('*.md')) if not is_myst(p)]
    if '--check' in argv:
        for path in todo:
            print(f'{path.relative_to(ROOT)}: not MyST yet; run `make myst`')
        return 1 if todo else 0
    for path in todo:
        path.write_text(converted(path))
        print(f'converted {path.relative_to(ROOT)}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

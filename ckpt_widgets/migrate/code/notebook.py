"""Notebooks cell by cell: the code cells are migrated as ONE module, so names imported in an
early cell resolve in later ones, then split back into their cells.

IPython lines (`%magic`, `!shell`) are masked as comments while libcst reads the code.

>>> cells = ['from flax.training import checkpoints', '%time x = 1', 'checkpoints.latest_checkpoint(d)']
>>> joined = join_cells(cells)
>>> split_cells(joined) == cells
True
"""

from __future__ import annotations

import json
import re

_MARK = '# ckpt-lab-cell-boundary'
_MAGIC = '# ckpt-lab-magic: '
_MAGIC_LINE = re.compile(r'^(\s*)([%!].*)$')


def _mask(source: str) -> str:
    return '\n'.join(_MAGIC_LINE.sub(lambda m: m.group(1) + _MAGIC + m.group(2), line)
                     for line in source.split('\n'))


def _unmask(source: str) -> str:
    return '\n'.join(re.sub(r'^(\s*)' + re.escape(_MAGIC), r'\1', line)
                     for line in source.split('\n'))


def join_cells(cells: list[str]) -> str:
    """The cells' sources as one module, a boundary comment between cells."""
    return ''.join(f'{_MARK}\n{_mask(cell)}\n' for cell in cells)


def cell_of_line(cells: list[str], line: int) -> tuple[int, int]:
    """(index of the cell, line in that cell) for a 1-based line of `join_cells(cells)`.

    >>> cell_of_line(['a = 1', 'b = 2\\nc = 3'], 5)
    (1, 2)
    """
    start = 1
    for index, cell in enumerate(cells):
        length = _mask(cell).count('\n') + 1
        if line <= start + length:
            return index, max(line - start, 1)
        start += length + 1
    return len(cells) - 1, 1


def split_cells(module: str) -> list[str]:
    """Inverse of `join_cells` (imports the rewrite adds land in the first cell)."""
    head, *parts = module.split(_MARK + '\n')
    cells = [_unmask(part.removesuffix('\n')) for part in parts]
    if head.strip() and cells:  # code added above the first boundary (imports)
        cells[0] = head + cells[0]
    return cells


def read_code_cells(text: str) -> tuple[dict, list[int], list[str]]:
    """(notebook JSON, indexes of code cells, their sources)."""
    nb = json.loads(text)
    indexes = [i for i, c in enumerate(nb.get('cells', ())) if c.get('cell_type') == 'code']
    sources = []
    for i in indexes:
        source = nb['cells'][i].get('source', '')
        sources.append(''.join(source) if isinstance(source, list) else source)
    return nb, indexes, sources


def write_code_cells(nb: dict, indexes: list[int], sources: list[str]) -> str:
    """The notebook JSON with new cell sources, in nbformat's layout (indent 1)."""
    for i, source in zip(indexes, sources, strict=True):
        nb['cells'][i]['source'] = source.splitlines(keepends=True)
    return json.dumps(nb, indent=1, ensure_ascii=False) + '\n'

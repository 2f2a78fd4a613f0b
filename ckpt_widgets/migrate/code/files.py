"""`migrate_paths`: files and folders in, a `Report` out; `--write` applies it.

Without `write`, nothing on disk changes. A file that does not parse is named in the report
(exit 2) and the others are still processed.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / 'a.py'; _ = p.write_text('x = 1\\n')
>>> migrate_paths([str(p)]).exit_code
0
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from pathlib import Path

import libcst as cst

from ckpt_widgets.shown import Shown

from . import notebook
from .report import FileResult, Report
from .rewrite import migrate_source

SKIPPED_DIRS = {'.git', '.venv', 'venv', '__pycache__', 'node_modules', '.ipynb_checkpoints',
                '.tox', 'build', 'dist'}


def collect(paths: list[str]) -> list[Path]:
    """The .py and .ipynb files named or under the folders named, sorted, each once."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
                found += [Path(root) / n for n in sorted(names) if n.endswith(('.py', '.ipynb'))]
        else:
            found.append(path)
    seen, result = set(), []
    for p in found:
        if p not in seen:
            seen.add(p)
            result.append(p)
    return result


def _parse_error(e: Exception) -> str:
    if isinstance(e, SyntaxError):
        return f'does not parse (line {e.lineno}, column {e.offset}): {e.msg}'
    if isinstance(e, cst.ParserSyntaxError):
        return f'does not parse (line {e.raw_line}, column {e.raw_column}): {e.message}'
    return f'{type(e).__name__}: {e}'


def migrate_file(path: Path, label: str | None = None) -> FileResult:
    """Migrates one .py or .ipynb file in memory (nothing is written)."""
    label = label or str(path)
    try:
        before = path.read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as e:
        return FileResult(label, error=f'cannot read: {e}')
    try:
        if path.suffix == '.ipynb':
            nb, indexes, sources = notebook.read_code_cells(before)
            joined = notebook.join_cells(sources)
            new, findings = migrate_source(joined, label)
            findings = [_in_cell(f, sources, indexes) for f in findings]
            if new == joined:
                return FileResult(label, tuple(findings), before, before)
            after = notebook.write_code_cells(nb, indexes, notebook.split_cells(new))
            return FileResult(label, tuple(findings), before, after)
        new, findings = migrate_source(before, label)
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the others
        return FileResult(label, error=_parse_error(e))
    return FileResult(label, tuple(findings), before, new)


def _in_cell(finding, sources: list[str], indexes: list[int]):
    """A finding of the joined cells, placed as `notebook.ipynb:cell N` and the line in it."""
    cell, line = notebook.cell_of_line(sources, finding.line)
    return dataclasses.replace(finding, path=f'{finding.path}:cell {indexes[cell] + 1}', line=line)


def diff(result: FileResult) -> str:
    """Unified diff of one file (for a notebook: of its code cells as one listing)."""
    before, after = result.before, result.after
    if result.path.endswith('.ipynb') and result.changed:
        before = notebook.join_cells(notebook.read_code_cells(before)[2])
        after = notebook.join_cells(notebook.read_code_cells(after)[2])
    return ''.join(difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=_label('a', result.path), tofile=_label('b', result.path)))


def _label(side: str, path: str) -> str:
    # git's a/ b/ prefixes for relative paths; an absolute path is shown as it is.
    return path if os.path.isabs(path) else f'{side}/{path}'


PARALLEL_FROM = 16  # files: below this, starting worker processes costs more than it saves


def _migrate_all(files: list[Path], jobs: int | None) -> list[FileResult]:
    """Each file's result, in order; in `jobs` worker processes for a large tree.

    Workers are spawned (not forked: the caller may hold JAX's threads), read and rewrite
    in memory only; every write happens in this process.
    """
    jobs = jobs if jobs is not None else min(os.cpu_count() or 1, 4)
    if jobs <= 1 or len(files) < PARALLEL_FROM:
        return [migrate_file(path) for path in files]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    context = multiprocessing.get_context('spawn')
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        return list(pool.map(migrate_file, files, chunksize=max(1, len(files) // (jobs * 4))))


def migrate_paths(paths: list[str], write: bool = False, jobs: int | None = None) -> Report:
    """Migrates every file under `paths`; with `write`, saves the changed ones.

    `jobs`: worker processes for trees of 16 files or more (default: the CPUs, at most 4).
    """
    files = collect(paths)
    results = _migrate_all(files, jobs)
    if write:
        for path, result in zip(files, results, strict=True):
            if result.changed:
                path.write_text(result.after, encoding='utf-8')
    return Report(tuple(results))


class SideBySide(Shown):
    """A file's change as a side-by-side table: HTML in a notebook, the unified diff as text.

    >>> r = FileResult('a.py', before='x = 1\\n', after='x = 2\\n')
    >>> print(SideBySide(r).text.splitlines()[-1])
    +x = 2
    """

    def __init__(self, result: FileResult, context: int = 2) -> None:
        self.result = result
        self.context = context
        self.text = diff(result)

    @property
    def html(self) -> str:
        before, after = self.result.before, self.result.after
        if self.result.path.endswith('.ipynb'):
            before = notebook.join_cells(notebook.read_code_cells(before)[2])
            after = notebook.join_cells(notebook.read_code_cells(after)[2])
        table = difflib.HtmlDiff(tabsize=4, wrapcolumn=72).make_table(
            before.splitlines(), after.splitlines(), f'{self.result.path} (legacy)',
            f'{self.result.path} (migrated)', context=True, numlines=self.context)
        style = ('<style>table.diff{font-family:monospace;font-size:12px;border:0}'
                 '.diff_add{background:#e6ffec}.diff_chg{background:#fff5b1}'
                 '.diff_sub{background:#ffebe9}.diff_header{color:#777}'
                 'td.diff_next{display:none}</style>')
        return style + table

"""Speed: libcst reads only the top-level statements that can hold legacy calls.

Python's own `ast` (C, fast) finds them first: a module that imports nothing from `flax` has
no legacy call at all (names resolve by import), and in one that does, a top-level statement
that mentions no legacy name, no alias of a Flax import and no import is replaced by a
one-line placeholder while libcst parses, resolves and rewrites the rest. The placeholders
are put back afterwards; if one went missing or moved (never seen, but cheap to check), the
caller falls back to the whole module. Line numbers are mapped back to the original file.

>>> reduced = reduce('import flax\\nx = 1\\n\\ndef f():\\n    return flax.training\\n')
>>> print(reduced.text)
import flax
# ckpt-lab-kept-block 0
<BLANKLINE>
def f():
    return flax.training
<BLANKLINE>
>>> expand(reduced, reduced.text) == 'import flax\\nx = 1\\n\\ndef f():\\n    return flax.training\\n'
True
"""

from __future__ import annotations

import ast
import dataclasses

from . import legacy_api

LEGACY_NAMES = frozenset(
    [q.rsplit('.', 1)[1] for q in legacy_api.REWRITTEN]
    + ['checkpoints', 'orbax_utils', 'wait_previous_save', 'convert_pre_linen'])
_PLACEHOLDER = '# ckpt-lab-kept-block {}'


@dataclasses.dataclass(frozen=True)
class Reduced:
    """The source libcst reads, the blocks it stands for, and reduced line -> original line."""

    text: str
    blocks: tuple[str, ...]
    line_map: tuple[int, ...]  # index: reduced line - 1

    def original_line(self, line: int) -> int:
        return self.line_map[line - 1] if 0 < line <= len(self.line_map) else line


def _flax_aliases(tree: ast.Module) -> set[str] | None:
    """Names bound by imports from flax anywhere in the module; None if flax is not imported."""
    names: set[str] = set()
    found = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == 'flax' or alias.name.startswith('flax.'):
                    found = True
                    names.add(alias.asname or alias.name.split('.')[0])
        elif isinstance(node, ast.ImportFrom) and node.module and (
                node.module == 'flax' or node.module.startswith('flax.')):
            found = True
            names.update(alias.asname or alias.name for alias in node.names)
    return names if found else None


def _mentions(statement: ast.stmt, names: set[str]) -> bool:
    for node in ast.walk(statement):
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)):
            return True
        if isinstance(node, ast.Name) and node.id in names:
            return True
        if isinstance(node, ast.Attribute) and node.attr in names:
            return True
        if node is statement and isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in names:
            return True  # a module-level definition that shadows a legacy name (methods do not)
        if isinstance(node, ast.arg) and node.arg in names:
            return True
        if isinstance(node, ast.Constant) and node.value == 'flax_use_orbax_checkpointing':
            return True
    return False


def _groups(tree: ast.Module) -> list[tuple[int, int, list[ast.stmt]]]:
    """Top-level statements as (first line, last line, statements); `a; b` share a group."""
    groups: list[tuple[int, int, list[ast.stmt]]] = []
    for statement in tree.body:
        first = min([statement.lineno] + [d.lineno for d in getattr(statement, 'decorator_list', ())])
        last = statement.end_lineno or statement.lineno
        if groups and first <= groups[-1][1]:
            start, _, members = groups[-1]
            groups[-1] = (start, max(last, groups[-1][1]), members + [statement])
        else:
            groups.append((first, last, [statement]))
    return groups


def reduce(source: str, tree: ast.Module | None = None) -> Reduced | None:
    """The reduced source, or None when nothing but imports mentions flax (nothing to do).

    Raises SyntaxError when `source` is not Python.
    """
    tree = tree if tree is not None else ast.parse(source)
    aliases = _flax_aliases(tree)
    if aliases is None:
        return None
    names = LEGACY_NAMES | aliases
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    line_map: list[int] = []
    blocks: list[str] = []
    position = 1  # next original line to copy
    uses = False  # does any active statement do more than import?
    for index, (first, last, members) in enumerate(_groups(tree)):
        docstring = index == 0 and isinstance(members[0], ast.Expr) and isinstance(
            getattr(members[0], 'value', None), ast.Constant)
        if docstring:
            continue
        if any(_mentions(m, names) for m in members):
            uses = uses or not all(isinstance(m, (ast.Import, ast.ImportFrom)) for m in members)
            continue
        for n in range(position, first):
            out.append(lines[n - 1])
            line_map.append(n)
        blocks.append(''.join(lines[first - 1:last]))
        ending = '\n' if lines[last - 1].endswith('\n') else ''
        out.append(_PLACEHOLDER.format(len(blocks) - 1) + ending)
        line_map.append(first)
        position = last + 1
    if not uses:
        return None  # imports only: nothing calls the legacy API here
    for n in range(position, len(lines) + 1):
        out.append(lines[n - 1])
        line_map.append(n)
    return Reduced(''.join(out), tuple(blocks), tuple(line_map))


def expand(reduced: Reduced, new_text: str) -> str | None:
    """`new_text` with every placeholder replaced by its block; None if one is missing or moved."""
    if not reduced.blocks:
        return new_text
    out, seen = [], 0
    for line in new_text.splitlines(keepends=True):
        if line.startswith('# ckpt-lab-kept-block '):
            if line.rstrip('\r\n') != _PLACEHOLDER.format(seen):
                return None
            block = reduced.blocks[seen]
            out.append(block if line.endswith('\n') or not block.endswith('\n') else block[:-1])
            seen += 1
        else:
            out.append(line)
    return ''.join(out) if seen == len(reduced.blocks) else None

"""Adding the imports the rewrite needs and dropping legacy imports nothing uses any more.

Both work on the module's top level and plain names, without libcst's scope analysis (which
would read the whole module twice more): "used" means the name still appears as a name in
the rewritten code (Python's `ast`), which is conservative (a same-named local keeps it).

>>> import libcst as cst
>>> m = cst.parse_module('import numpy as np\\nfrom flax.training import checkpoints\\nx = 1\\n')
>>> m = add_imports(m, {('orbax.checkpoint', None, 'ocp')})
>>> print(remove_unused(m, used=set()).code)
import numpy as np
import orbax.checkpoint as ocp
x = 1
<BLANKLINE>
"""

from __future__ import annotations

import ast

import libcst as cst
from libcst.helpers import get_full_name_for_node


def _code(module, obj, alias) -> str:
    if obj is None:
        return f'import {module}' + (f' as {alias}' if alias else '')
    return f'from {module} import {obj}' + (f' as {alias}' if alias else '')


def _is_import(statement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body)


def add_imports(module: cst.Module, needed: set[tuple[str, str | None, str | None]]) -> cst.Module:
    """`needed` (module, name, alias) imports after the module's top-level imports (once each)."""
    existing = {line.strip() for line in module.code.splitlines()}
    missing = [_code(*item) for item in sorted(needed, key=lambda i: (i[1] is not None, str(i)))]
    missing = [code for code in missing if code not in existing]
    if not missing:
        return module
    body = list(module.body)
    position = 0
    for index, statement in enumerate(body):
        if _is_import(statement):
            position = index + 1
        elif index == 0 and isinstance(statement, cst.SimpleStatementLine) and isinstance(
                statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.SimpleString):
            position = 1  # after the module docstring
        elif position:
            break
    new = [cst.parse_statement(code + '\n') for code in missing]
    return module.with_changes(body=body[:position] + new + body[position:])


def names_used(code: str) -> set[str]:
    """Every name read or written in `code` (imports themselves do not count)."""
    return {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}


class _Remove(cst.CSTTransformer):
    def __init__(self, used: set[str]) -> None:
        super().__init__()
        self.used = used

    def _keep(self, alias: cst.ImportAlias, module: str | None) -> bool:
        # `import flax.training.checkpoints` binds `flax`: kept while anything uses `flax`.
        name = alias.evaluated_alias or alias.evaluated_name.split('.')[0]
        full = f'{module}.{alias.evaluated_name}' if module else alias.evaluated_name
        legacy = full.split('.')[:3] in (['flax', 'training', 'checkpoints'],
                                         ['flax', 'training', 'orbax_utils'])
        return not legacy or name in self.used

    def leave_Import(self, original, updated):
        kept = [a for a in updated.names if self._keep(a, None)]
        return _with_names(updated, kept)

    def leave_ImportFrom(self, original, updated):
        if isinstance(updated.names, cst.ImportStar) or updated.relative:
            return updated
        module = get_full_name_for_node(updated.module)
        kept = [a for a in updated.names if self._keep(a, module)]
        return _with_names(updated, kept)

    def leave_SimpleStatementLine(self, original, updated):
        if updated.body:
            return updated
        if any(line.comment for line in original.leading_lines):
            return original  # never lose a comment: keep the (unused) import
        return cst.RemovalSentinel.REMOVE

    def visit_Try(self, node) -> bool:
        return False  # removing an import there would leave `try: pass`


def _with_names(node, kept):
    if len(kept) == len(node.names):
        return node
    if not kept:
        return cst.RemovalSentinel.REMOVE
    kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return node.with_changes(names=kept)


def remove_unused(module: cst.Module, used: set[str] | None = None) -> cst.Module:
    """Drops names imported from Flax's checkpoint modules that nothing uses any more."""
    used = names_used(module.code) if used is None else used
    return module.visit(_Remove(used))

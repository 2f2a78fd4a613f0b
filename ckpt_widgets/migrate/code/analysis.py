"""One read-only pass over a module: finds the legacy calls and fills a `Plan` and findings.

Each rule family lives in its own module (`save_rules`, `restore_rules`, `orbax_utils_rules`,
`flags`); this module holds what they share: parents, lines, names, loops, the report.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import (
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
)

from . import legacy_api, resolve
from .plan import Plan
from .report import FLAGGED, LEFT, REWRITTEN, Finding

_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.Module)
_LOOPS = (cst.For, cst.While)


class _Names(cst.CSTVisitor):
    """Every identifier in a subtree (to pick manager names that collide with nothing)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def names_in(node: cst.CSTNode | None) -> set[str]:
    """The identifiers used in `node` (empty for None)."""
    if node is None:
        return set()
    visitor = _Names()
    node.visit(visitor)
    return visitor.names


class _Bound(cst.CSTVisitor):
    """Names a loop (re)binds: its targets and every assignment in its body."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def _add(self, target: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            self.names.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._add(element.value)
        elif isinstance(target, cst.StarredElement):
            self._add(target.value)

    def visit_AssignTarget(self, node):
        self._add(node.target)

    def visit_AugAssign(self, node):
        self._add(node.target)

    def visit_AnnAssign(self, node):
        self._add(node.target)

    def visit_For(self, node):
        self._add(node.target)

    def visit_AsName(self, node):
        self._add(node.name)

    def visit_NamedExpr(self, node):
        self._add(node.target)


class _Leaves(cst.CSTVisitor):
    """Does a loop body leave its function early (`return`, `yield`), skipping code after it?"""

    def __init__(self) -> None:
        self.found = False

    def visit_Return(self, node) -> None:
        self.found = True

    def visit_Yield(self, node) -> None:
        self.found = True

    def visit_FunctionDef(self, node) -> bool:
        return False  # a nested function's return is its own

    def visit_Lambda(self, node) -> bool:
        return False


def leaves_early(loop: cst.CSTNode) -> bool:
    visitor = _Leaves()
    loop.visit(visitor)
    return visitor.found


class Analysis:
    """Shared state of one module's analysis: metadata, plan, findings, fresh names."""

    def __init__(self, wrapper: MetadataWrapper, path: str) -> None:
        self.module = wrapper.module
        self.path = path
        self.qualified = wrapper.resolve(QualifiedNameProvider)
        self.parents = wrapper.resolve(ParentNodeProvider)
        self.positions = wrapper.resolve(PositionProvider)
        self.plan = Plan()
        self.findings: list[Finding] = []
        self.taken: set[str] = set()  # names a new variable must not take (set by the caller)
        self.shared: dict[tuple, str] = {}  # (loop or statement, ctor) -> manager variable
        self.async_managers: dict[tuple, str | None] = {}  # (scope, name) -> manager var

    # --- reading the tree -------------------------------------------------------------------
    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    def ancestors(self, node: cst.CSTNode):
        while node in self.parents:
            node = self.parents[node]
            yield node

    def statement_of(self, node: cst.CSTNode) -> cst.BaseStatement:
        for parent in self.ancestors(node):
            if isinstance(parent, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return parent
        raise ValueError('node outside any statement')

    def scope_of(self, node: cst.CSTNode) -> cst.CSTNode:
        for parent in self.ancestors(node):
            if isinstance(parent, _SCOPES):
                return parent
        return self.module

    def legacy_name(self, node: cst.CSTNode) -> str | None:
        return resolve.legacy_name(self.qualified, node)

    def between(self, node: cst.CSTNode, stop: cst.CSTNode):
        """Ancestors of `node` up to (not including) `stop`."""
        for parent in self.ancestors(node):
            if parent is stop:
                return
            yield parent

    def only_statement_call(self, call: cst.Call) -> cst.SimpleStatementLine | None:
        """The statement line when `call` is the whole statement (`f(...)` on its own line)."""
        parent = self.parents.get(call)
        if isinstance(parent, cst.Expr):
            line = self.parents.get(parent)
            if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
                return line
        return None

    def deferred(self, node: cst.CSTNode, stop: cst.CSTNode) -> bool:
        """True when `node` runs later than its statement (in a lambda or a generator)."""
        return any(isinstance(p, (cst.Lambda, cst.GeneratorExp)) for p in self.between(node, stop))

    def hoist_loop(self, call: cst.Call, used: set[str]) -> cst.CSTNode | None:
        """The outermost enclosing loop (same function) none of whose loops rebinds `used`.

        A manager built from `used` names can be created once before that loop. None: the call
        is in no loop, or its innermost loop changes the directory or options each time. A
        loop that can `return` or `yield` out of its function is not chosen: the `close()`
        after it would be skipped, and with it the wait for the last async save.
        """
        chosen = None
        for parent in self.ancestors(call):
            if isinstance(parent, _SCOPES):
                break
            if isinstance(parent, _LOOPS):
                bound = _Bound()
                parent.visit(bound)
                if bound.names & used or leaves_early(parent):
                    break
                chosen = parent
        return chosen

    # --- writing the plan and the report ----------------------------------------------------
    def new_name(self, base: str) -> str:
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f'{base}_{n}'
        self.taken.add(name)
        return name

    def manager(self, owner: cst.CSTNode, ctor: str) -> tuple[str, bool]:
        """The manager variable for `ctor` at `owner` (a loop or statement); True if new."""
        key = (owner, ctor)
        if key in self.shared:
            return self.shared[key], False
        self.shared[key] = self.new_name('mngr')
        return self.shared[key], True

    def need_import(self, module: str, obj: str | None = None, asname: str | None = None) -> None:
        self.plan.imports.add((module, obj, asname))

    def report(self, node: cst.CSTNode, name: str, outcome: str, detail: str) -> None:
        self.findings.append(
            Finding(self.path, self.line(node), legacy_api.short(name), outcome, detail))

    def rewritten(self, node: cst.CSTNode, name: str, detail: str) -> None:
        self.report(node, name, REWRITTEN, detail)

    def left(self, node: cst.CSTNode, name: str, detail: str) -> None:
        self.report(node, name, LEFT, detail)

    def flag(self, node: cst.CSTNode, name: str, reason: str,
             at: cst.CSTNode | None = None) -> None:
        """A TODO above the statement of `node` (or `at`), counted in the report."""
        statement = at if at is not None else self.statement_of(node)
        self.plan.todo(statement, reason)
        self.report(node, name, FLAGGED, reason)

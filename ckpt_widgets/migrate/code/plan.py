"""The edit plan one analysis pass builds and the transformer applies.

Keys are ORIGINAL nodes (identity), so the analysis can look at parents and qualified names
while the transformer, which sees rebuilt nodes, only looks the originals up.

>>> Plan().is_empty
True
"""

from __future__ import annotations

import dataclasses

import libcst as cst


@dataclasses.dataclass
class StatementEdit:
    """What happens to one statement: wrapped in `with` items, lines before it, replaced, TODOs."""

    with_items: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (var, ctor)
    before: list[str] = dataclasses.field(default_factory=list)
    replacement: list[str] | None = None  # None: keep the statement ([]: remove it)
    todos: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class LoopEdit:
    """Managers created once before a loop (var, ctor) and closed after it."""

    managers: list[tuple[str, str]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Plan:
    statements: dict[cst.CSTNode, StatementEdit] = dataclasses.field(default_factory=dict)
    loops: dict[cst.CSTNode, LoopEdit] = dataclasses.field(default_factory=dict)
    calls: dict[cst.CSTNode, str] = dataclasses.field(default_factory=dict)  # call -> new code
    imports: set[tuple[str, str | None, str | None]] = dataclasses.field(default_factory=set)

    @property
    def is_empty(self) -> bool:
        return not (self.statements or self.loops or self.calls)

    def statement(self, node: cst.CSTNode) -> StatementEdit:
        return self.statements.setdefault(node, StatementEdit())

    def todo(self, node: cst.CSTNode, reason: str) -> None:
        todos = self.statement(node).todos
        if reason not in todos:
            todos.append(reason)

    def loop(self, node: cst.CSTNode) -> LoopEdit:
        return self.loops.setdefault(node, LoopEdit())

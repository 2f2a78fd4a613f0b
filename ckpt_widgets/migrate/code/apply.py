"""Applies a `Plan` to a module: wraps, inserts, replaces and comments statements.

Everything the plan does not name is returned untouched, so formatting and comments elsewhere
survive byte for byte. A TODO already on the line above is not added again (idempotence).
"""

from __future__ import annotations

import libcst as cst

from .plan import Plan
from .report import TODO_TAG


def _statements(codes: list[str], config: cst.PartialParserConfig) -> list[cst.BaseStatement]:
    return [cst.parse_statement(code + '\n', config=config) for code in codes]


def _with_todos(node: cst.BaseStatement, todos: list[str]) -> cst.BaseStatement:
    existing = {line.comment.value for line in node.leading_lines if line.comment}
    new = [cst.EmptyLine(comment=cst.Comment(TODO_TAG + reason))
           for reason in todos if TODO_TAG + reason not in existing]
    return node.with_changes(leading_lines=[*node.leading_lines, *new]) if new else node


class Applier(cst.CSTTransformer):
    """Rewrites the original module's nodes named in `plan` (see `plan.py`)."""

    def __init__(self, plan: Plan, config: cst.PartialParserConfig) -> None:
        super().__init__()
        self.plan = plan
        self.config = config

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        code = self.plan.calls.get(original)
        return updated if code is None else cst.parse_expression(code, config=self.config)

    def on_leave(self, original, updated):
        updated = super().on_leave(original, updated)
        if not isinstance(original, cst.BaseStatement) or not isinstance(updated, cst.CSTNode):
            return updated
        edit = self.plan.statements.get(original)
        loop = self.plan.loops.get(original)
        if edit is None and loop is None:
            return updated
        leading = list(updated.leading_lines)
        body = updated.with_changes(leading_lines=[])
        result: list[cst.BaseStatement] = [body]
        todos: list[str] = []
        if edit is not None:
            todos = edit.todos
            if edit.replacement is not None:
                result = _statements(edit.replacement, self.config)
            result = _statements(edit.before, self.config) + result
            if edit.with_items and result:
                items = [cst.WithItem(item=cst.parse_expression(ctor, config=self.config),
                                      asname=cst.AsName(name=cst.Name(var)))
                         for var, ctor in edit.with_items]
                result = [cst.With(items=items, body=cst.IndentedBlock(body=result))]
        if loop is not None:
            pre = _statements([f'{var} = {ctor}' for var, ctor in loop.managers], self.config)
            post = _statements([f'{var}.close()' for var, _ in loop.managers], self.config)
            if todos:  # the TODO stays right above the statement it is about
                result[0] = _with_todos(result[0], todos)
                todos = []
            result = pre + result + post
        if not result:
            if leading or todos:  # keep comments: a removed statement becomes `pass`
                result = [cst.SimpleStatementLine(body=[cst.Pass()])]
            else:
                return cst.RemovalSentinel.REMOVE
        result[0] = _with_todos(result[0].with_changes(leading_lines=leading), todos)
        return result[0] if len(result) == 1 else cst.FlattenSentinel(result)

"""`migrate_source`: one Python source in, the migrated source and its findings out.

>>> src = 'from flax.training import checkpoints\\ncheckpoints.save_checkpoint("/ck", s, 1, keep=2)\\n'
>>> new, findings = migrate_source(src, 'a.py')
>>> print(new.replace(', preservation_policy', ',\\n  preservation_policy'))
import orbax.checkpoint as ocp
with ocp.CheckpointManager("/ck", options=ocp.CheckpointManagerOptions(step_prefix='checkpoint',
  preservation_policy=ocp.checkpoint_managers.LatestN(2))) as mngr:
    mngr.save(1, args=ocp.args.PyTreeSave(s))
<BLANKLINE>
>>> [f.outcome for f in findings]
['rewritten']
"""

from __future__ import annotations

import ast
import dataclasses

import libcst as cst
from libcst.metadata import MetadataWrapper

from . import (
    flags,
    imports,
    legacy_api,
    orbax_utils_rules,
    prefilter,
    restore_rules,
    save_rules,
)
from .analysis import Analysis
from .apply import Applier
from .report import Finding

_RULES = {
    legacy_api.SAVE: save_rules.rewrite_save,
    legacy_api.SAVE_MULTIPROCESS: save_rules.rewrite_save,
    legacy_api.RESTORE: restore_rules.rewrite_restore,
    legacy_api.LATEST: restore_rules.rewrite_latest,
    legacy_api.SAVE_ARGS: orbax_utils_rules.rewrite_orbax_utils,
    legacy_api.RESTORE_ARGS: orbax_utils_rules.rewrite_orbax_utils,
}


class _Calls(cst.CSTVisitor):
    """Pass 1: every legacy call and reference (AsyncManager waits come in pass 2)."""

    def __init__(self, an: Analysis) -> None:
        self.an = an
        self.prefixes = {legacy_api.DEFAULT_PREFIX}
        self.handled: set[int] = set()

    def visit_Call(self, node: cst.Call) -> None:
        name = self.an.legacy_name(node.func)
        if name is None:
            return
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == 'prefix' and isinstance(
                    arg.value, cst.SimpleString) and arg.value.evaluated_value:
                self.prefixes.add(arg.value.evaluated_value)
        if name in _RULES:
            _RULES[name](self.an, node, name)
        elif name == legacy_api.CONFIG_UPDATE:
            flags.flag_config_update(self.an, node)
        elif name != legacy_api.ASYNC_MANAGER:
            self.an.left(node, name, 'no Orbax counterpart; left as it is')

    def _reference(self, node: cst.CSTNode) -> None:
        name = self.an.legacy_name(node)
        if name in legacy_api.REWRITTEN and name != legacy_api.ASYNC_MANAGER:
            flags.flag_reference(self.an, node, name)

    def visit_Name(self, node: cst.Name) -> None:
        self._reference(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._reference(node)


class _Later(cst.CSTVisitor):
    """Pass 2: AsyncManager objects and their waits (known once the saves are planned), and
    hand-built step paths (known once the prefixes are)."""

    def __init__(self, an: Analysis, prefixes: set[str], any_legacy: bool) -> None:
        self.an = an
        self.prefixes = prefixes
        self.any_legacy = any_legacy

    def visit_Call(self, node: cst.Call) -> None:
        an = self.an
        name = an.legacy_name(node.func)
        if name == legacy_api.ASYNC_MANAGER:
            parent = an.parents.get(node)
            if isinstance(parent, cst.Assign) and isinstance(parent.targets[0].target, cst.Name):
                key = (an.scope_of(node), parent.targets[0].target.value)
                if key not in an.async_managers:
                    an.left(node, name, 'its saves were not rewritten; left as it is')
                    return
            save_rules.rewrite_async_manager(an, node, name)
        elif (isinstance(node.func, cst.Attribute) and node.func.attr.value == 'wait_previous_save'
              and isinstance(node.func.value, cst.Name)):
            save_rules.rewrite_wait(an, node, node.func.value.value)

    def _string(self, node) -> None:
        if not self.any_legacy:
            return
        statement = self.an.statement_of(node)
        if '.latest_step()' not in self.an.code(statement):
            flags.flag_manual_path(self.an, node, self.prefixes)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._string(node)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self._string(node)


def migrate_source(source: str, path: str = '<string>') -> tuple[str, list[Finding]]:
    """Returns (new source, findings); raises SyntaxError (or libcst's) if it does not parse.

    Unchanged source comes back identical (the same string) when nothing is legacy.
    """
    tree = ast.parse(source)
    reduced = prefilter.reduce(source, tree)
    if reduced is None:
        return source, []
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    new, findings = _migrate(reduced.text, path, taken)
    findings = [dataclasses.replace(f, line=reduced.original_line(f.line)) for f in findings]
    if new == reduced.text:
        return source, findings
    full = prefilter.expand(reduced, new)
    if full is None:  # a placeholder moved: read the whole module instead
        return _migrate(source, path, taken)
    return full, findings


def _migrate(source: str, path: str, taken: set[str]) -> tuple[str, list[Finding]]:
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)  # parsed here, shared by no one
    an = Analysis(wrapper, path)
    an.taken = set(taken)  # every name of the whole file (ast), not only the part read here
    calls = _Calls(an)
    wrapper.visit(calls)
    wrapper.visit(_Later(an, calls.prefixes, bool(an.findings)))
    if an.plan.is_empty:
        an.findings.sort(key=lambda f: f.line)
        return source, an.findings
    config = cst.PartialParserConfig(default_indent=module.default_indent,
                                     default_newline=module.default_newline)
    new = wrapper.module.visit(Applier(an.plan, config))
    new = imports.add_imports(new, an.plan.imports)
    new = imports.remove_unused(new)
    an.findings.sort(key=lambda f: f.line)
    return new.code, an.findings

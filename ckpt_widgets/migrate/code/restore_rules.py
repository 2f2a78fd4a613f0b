"""`restore_checkpoint` and `latest_checkpoint` -> a read-only `CheckpointManager`.

    state = checkpoints.restore_checkpoint(workdir, state)
becomes
    with ocp.CheckpointManager(os.path.abspath(workdir), options=ocp.CheckpointManagerOptions(
            step_prefix='checkpoint', read_only=True)) as mngr:
        state = state if mngr.latest_step() is None else mngr.restore(
            mngr.latest_step(), args=ocp.args.PyTreeRestore(item=state))

Like Flax, a folder with no step gives the target back (read_only: nothing is created).
`PyTreeRestore` restores strings too; without a target Orbax keeps lists as lists where Flax
gave dicts keyed '0', '1', ... (flagged where the result is indexed that way).
"""

from __future__ import annotations

import re

import libcst as cst

from . import legacy_api
from .analysis import Analysis
from .arguments import bound_arguments, is_none
from .save_rules import manager_ctor

_SINGLE_HINTS = ('path', 'file')
_SINGLE_REASON = (
    'this looks like ONE checkpoint, not a folder of steps: restore it with '
    'ocp.PyTreeCheckpointer().restore(path) (a msgpack file: `ckpt-lab convert` it first)')
_KEYERROR_REASON = (
    "Orbax does not raise KeyError when the saved tree and the target differ (it raises "
    "ValueError): check what this except clause is meant to catch")
_DEFERRED_REASON = 'runs later (lambda or generator): open the manager where it runs'
_HEADER_REASON = ('used in a statement header (if/while/for/with): assign it to a name in a '
                  'statement before, then rerun migrate-code')


def _looks_like_one_checkpoint(an: Analysis, node: cst.BaseExpression, prefix: str) -> bool:
    if isinstance(node, cst.Call) and an.legacy_name(node.func) == legacy_api.LATEST:
        return True
    last = node
    if isinstance(node, cst.Call) and an.code(node.func).endswith('path.join') and node.args:
        last = node.args[-1].value
    if isinstance(last, (cst.Name, cst.Attribute)):
        ident = (last.value if isinstance(last, cst.Name) else last.attr.value).lower()
        return any(h in ident for h in _SINGLE_HINTS) and 'dir' not in ident
    return bool(re.search(re.escape(prefix) + r"\d+['\"]?$", an.code(last)))


def _statement(an: Analysis, call: cst.Call, name: str) -> cst.SimpleStatementLine | None:
    statement = an.statement_of(call)
    if not isinstance(statement, cst.SimpleStatementLine):
        an.flag(call, name, _HEADER_REASON)
        return None
    if an.deferred(call, statement):
        an.flag(call, name, _DEFERRED_REASON)
        return None
    return statement


def _bare(an: Analysis, call: cst.Call) -> bool:
    """True when the call is a statement's whole value (no parentheses needed around it)."""
    parent = an.parents.get(call)
    return isinstance(parent, (cst.Assign, cst.AnnAssign, cst.Return, cst.Expr))


def _try_catching_keyerror(an: Analysis, call: cst.Call) -> cst.Try | None:
    for parent in an.ancestors(call):
        if isinstance(parent, cst.Try) and any(
                h.type is not None and 'KeyError' in an.code(h.type) for h in parent.handlers):
            return parent
    return None


def _flag_digit_indexing(an: Analysis, call: cst.Call, statement: cst.SimpleStatementLine,
                         name: str) -> None:
    parent = an.parents.get(call)
    if not (isinstance(parent, cst.Assign) and len(parent.targets) == 1
            and isinstance(parent.targets[0].target, cst.Name)):
        return
    var = parent.targets[0].target.value
    pattern = re.compile(rf"\b{re.escape(var)}\s*(\[[^\]]*\])*\[\s*['\"]\d+['\"]\s*\]")
    scope = an.scope_of(call)
    body = scope.body.body if isinstance(scope, (cst.FunctionDef, cst.ClassDef)) else scope.body
    seen_call = False
    for later in _statements_in(body):
        if later is statement:
            seen_call = True
            continue
        if seen_call and pattern.search(an.code(later)):
            an.flag(call, name, (
                f"{var}[...]['<digit>']: Flax restored lists as dicts keyed '0', '1', ...; "
                f"Orbax keeps lists, index them with [0], [1], ..."), at=later)
            return


def _statements_in(body):
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield statement
        elif isinstance(statement, cst.BaseCompoundStatement):
            yield from _statements_in(statement.body.body if hasattr(statement.body, 'body') else ())


def rewrite_restore(an: Analysis, call: cst.Call, name: str) -> None:
    """Plans the rewrite of one `restore_checkpoint(...)`."""
    try:
        args = bound_arguments(name, call)
    except legacy_api.BindError as e:
        an.flag(call, name, f'cannot read the arguments ({e}): rewrite this restore by hand')
        return
    for unsupported in ('orbax_checkpointer', 'orbax_transforms', 'gda_manager'):
        if not is_none(args.get(unsupported)):
            an.flag(call, name, f'{unsupported}= has no counterpart here: restore by hand with '
                    'mngr.restore(step, args=ocp.args.PyTreeRestore(...))')
            return
    prefix_node = args.get('prefix')
    prefix = (prefix_node.evaluated_value if isinstance(prefix_node, cst.SimpleString)
              else legacy_api.DEFAULT_PREFIX)
    if _looks_like_one_checkpoint(an, args['ckpt_dir'], prefix):
        an.flag(call, name, _SINGLE_REASON)
        return
    statement = _statement(an, call, name)
    if statement is None:
        return
    ctor, flags, notes = manager_ctor(an, call, name, args, [('read_only', 'True')])
    var, new = an.manager(statement, ctor)
    if new:
        an.plan.statement(statement).with_items.append((var, ctor))
    target = args['target']
    item = '' if is_none(target) else f'item={an.code(target)}'
    restore_args = f'args=ocp.args.PyTreeRestore({item})'
    if not is_none(args.get('step')):
        code = f'{var}.restore({an.code(args["step"])}, {restore_args})'
    else:
        fallback = 'None' if is_none(target) else an.code(target)
        code = (f'{fallback} if {var}.latest_step() is None else '
                f'{var}.restore({var}.latest_step(), {restore_args})')
        if not _bare(an, call):
            code = f'({code})'
    an.plan.calls[call] = code
    for reason in flags:
        an.flag(call, name, reason)
    try_node = _try_catching_keyerror(an, call)
    if try_node is not None:
        an.flag(call, name, _KEYERROR_REASON, at=try_node)
    if is_none(target):
        _flag_digit_indexing(an, call, statement, name)
    detail = f'{var}.restore(...) in a read-only manager'
    if notes:
        detail += '; ' + '; '.join(notes)
    an.rewritten(call, name, detail)


def rewrite_latest(an: Analysis, call: cst.Call, name: str) -> None:
    """Plans the rewrite of one `latest_checkpoint(...)` (a path, or None)."""
    try:
        args = bound_arguments(name, call)
    except legacy_api.BindError as e:
        an.flag(call, name, f'cannot read the arguments ({e}): use mngr.latest_step()')
        return
    statement = _statement(an, call, name)
    if statement is None:
        return
    ctor, flags, _ = manager_ctor(an, call, name, args, [('read_only', 'True')])
    var, new = an.manager(statement, ctor)
    if new:
        an.plan.statement(statement).with_items.append((var, ctor))
    prefix = an.code(args['prefix']) if 'prefix' in args else repr(legacy_api.DEFAULT_PREFIX)
    code = (f'None if {var}.latest_step() is None else '
            f'os.fspath({var}.directory / ({prefix} + str({var}.latest_step())))')
    an.need_import('os')
    an.plan.calls[call] = code if _bare(an, call) else f'({code})'
    for reason in flags:
        an.flag(call, name, reason)
    an.rewritten(call, name, f'{var}.latest_step() (the path of that step, or None)')

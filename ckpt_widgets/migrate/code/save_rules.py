"""`save_checkpoint`, `save_checkpoint_multiprocess` and `AsyncManager` -> `CheckpointManager`.

    checkpoints.save_checkpoint(ckpt_dir, state, step, prefix='test_', keep=3)
becomes
    with ocp.CheckpointManager(os.path.abspath(ckpt_dir), options=ocp.CheckpointManagerOptions(
            step_prefix='test', preservation_policy=ocp.checkpoint_managers.LatestN(3))) as mngr:
        mngr.save(step, args=ocp.args.PyTreeSave(state))

In a loop whose iterations do not change the directory or options, the manager is created
once before the loop and closed after it (closing waits for the last async save). Flax's
`overwrite=True` replaced the step AND deleted every newer one, while a manager refuses to
save an existing step (`force=True` raises StepAlreadyExistsError on the pinned Orbax), so
the rewrite deletes those steps first.
"""

from __future__ import annotations

import libcst as cst

from . import legacy_api, options
from .analysis import Analysis, names_in
from .arguments import bound_arguments, is_false, is_none, is_true

_GATE_CALLS = ('process_index()', 'host_id()')
GATE_REASON = (
    "Orbax saves from EVERY process (each writes its own shards; the primary one commits): "
    "a save under `process_index() == 0` hangs or loses shards with several processes "
    "(notebook 08). Call mngr.save in all processes; keep the gate for logging only")
MULTIPROCESS_NOTE = (
    "on Flax's default Orbax backend this call kept keep+1 steps (its cleanup ran before the "
    "save); the manager keeps exactly keep, as Flax's msgpack writer did")
_RETURNED_REASON = (
    "the returned path is used: Orbax's save returns True/False. Save with "
    "mngr.save(step, args=ocp.args.PyTreeSave(tree)); the step folder is "
    "mngr.directory / f'<step_prefix>_<step>'")


def _gate(an: Analysis, call: cst.Call) -> cst.If | None:
    for parent in an.ancestors(call):
        if isinstance(parent, cst.If) and any(g in an.code(parent.test) for g in _GATE_CALLS):
            return parent
    return None


def manager_ctor(an: Analysis, call: cst.Call, name: str, args: dict,
                 extra: list[tuple[str, str]] = ()) -> tuple[str | None, list[str], list[str]]:
    """(ctor code, flags, notes) of the manager for `args`' directory, prefix and retention."""
    prefix = options.step_prefix(args.get('prefix'))
    entries = [('step_prefix', prefix.code)]
    flags = [prefix.flag] if prefix.flag else []
    notes = [prefix.note] if prefix.note else []
    if name in (legacy_api.SAVE, legacy_api.SAVE_MULTIPROCESS):
        policy = options.retention(args.get('keep'), args.get('keep_every_n_steps'))
        entries.append(('preservation_policy', policy.code))
        if policy.flag:
            flags.append(policy.flag)
        if policy.needs_retention:
            an.need_import(options.RETENTION_MODULE, 'FlaxRetention')
    entries += list(extra)
    directory = options.absolute(args['ckpt_dir'])
    if directory.startswith('os.'):
        an.need_import('os')
    an.need_import('orbax.checkpoint', None, 'ocp')
    ctor = f'ocp.CheckpointManager({directory}, options={options.manager_options(entries)})'
    return ctor, flags, notes


def rewrite_save(an: Analysis, call: cst.Call, name: str) -> None:
    """Plans the rewrite of one `save_checkpoint(...)` / `save_checkpoint_multiprocess(...)`."""
    try:
        args = bound_arguments(name, call)
    except legacy_api.BindError as e:
        an.flag(call, name, f'cannot read the arguments ({e}): rewrite this save by hand')
        return
    for unsupported in ('orbax_checkpointer', 'gda_manager'):
        if not is_none(args.get(unsupported)):
            an.flag(call, name, f'{unsupported}= has no CheckpointManager counterpart: pass '
                    'the options to ocp.CheckpointManager(..., options=...) by hand')
            return
    line = an.only_statement_call(call)
    if line is None:
        an.flag(call, name, _RETURNED_REASON)
        return
    ctor, flags, notes = manager_ctor(an, call, name, args)
    used = set().union(*(names_in(args.get(k)) for k in
                         ('ckpt_dir', 'prefix', 'keep', 'keep_every_n_steps')))
    loop = an.hoist_loop(call, used)
    var, new = an.manager(loop if loop is not None else line, ctor)
    step, target = an.code(args['step']), an.code(args['target'])
    body = []
    overwrite = args.get('overwrite')
    if not is_false(overwrite):
        stale = an.new_name('stale_step')
        replace = [(f"{var}.wait_until_finished()  # Flax's overwrite=True: this step and every "
                    'newer one are replaced'),
                   f'for {stale} in [s for s in {var}.all_steps() if s >= {step}]:',
                   f'    {var}.delete({stale})']
        if is_true(overwrite):
            body += [replace[0], '\n'.join(replace[1:])]
        else:
            body.append('\n'.join([f'if {an.code(overwrite)}:'] + ['    ' + r for r in replace]))
    body.append(f'{var}.save({step}, args=ocp.args.PyTreeSave({target}))')
    edit = an.plan.statement(line)
    edit.replacement = body
    if loop is not None:
        if new:
            an.plan.loop(loop).managers.append((var, ctor))
    else:
        edit.with_items.append((var, ctor))
    _async(an, call, args, (var, loop) if loop is not None else None)
    for reason in flags:
        an.flag(call, name, reason)
    gate = _gate(an, call)
    if gate is not None:
        an.flag(call, name, GATE_REASON, at=gate)
    where = ' (manager created before the loop)' if loop is not None else ''
    if name == legacy_api.SAVE_MULTIPROCESS:
        notes.append(MULTIPROCESS_NOTE)
    detail = f'{var}.save({step}, ...){where}'
    if notes:
        detail += '; ' + '; '.join(notes)
    an.rewritten(call, name, detail)


def _async(an: Analysis, call: cst.Call, args: dict, hoisted: tuple | None) -> None:
    manager = args.get('async_manager')
    if isinstance(manager, cst.Name) and manager.value != 'None':
        an.async_managers[(an.scope_of(call), manager.value)] = hoisted


def rewrite_async_manager(an: Analysis, call: cst.Call, name: str) -> None:
    """`am = checkpoints.AsyncManager()` goes: a CheckpointManager saves asynchronously itself."""
    parent = an.parents.get(call)
    if isinstance(parent, cst.Arg):
        an.rewritten(call, name, 'dropped: CheckpointManager saves asynchronously by itself')
        return
    line = an.parents.get(parent)
    if (isinstance(parent, cst.Assign) and len(parent.targets) == 1
            and isinstance(parent.targets[0].target, cst.Name)
            and isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1):
        an.plan.statement(line).replacement = []
        an.rewritten(call, name, 'removed: CheckpointManager saves asynchronously by itself')
        return
    an.flag(call, name, 'AsyncManager used in a way the rewriter does not follow: '
            'CheckpointManager saves asynchronously; wait with mngr.wait_until_finished()')


def rewrite_wait(an: Analysis, call: cst.Call, receiver: str) -> bool:
    """`am.wait_previous_save()` of a known AsyncManager -> `mngr.wait_until_finished()`."""
    key = (an.scope_of(call), receiver)
    if key not in an.async_managers:
        return False
    line = an.only_statement_call(call)
    hoisted = an.async_managers[key]
    name = legacy_api.ASYNC_MANAGER + '.wait_previous_save'
    if line is None:
        an.flag(call, name, 'wait_previous_save() used as a value: wait with mngr.wait_until_finished()')
        return True
    if hoisted is None:
        an.plan.statement(line).replacement = []
        an.rewritten(call, name, "removed: the save's with block already waited")
        return
    var, loop = hoisted
    if any(parent is loop for parent in an.ancestors(call)):
        an.plan.statement(line).replacement = [f'{var}.wait_until_finished()']
        an.rewritten(call, name, f'{var}.wait_until_finished()')
    else:
        an.plan.statement(line).replacement = []
        an.rewritten(call, name, f'removed: {var}.close() after the loop waits')
    return True

"""`flax.training.orbax_utils` helpers -> Orbax's own.

- `save_args_from_target(t)` was `jax.tree.map(lambda _: ocp.SaveArgs(), t)`: that, spelled out.
- `restore_args_from_target(t, mesh=None)` -> `ocp.checkpoint_utils.construct_restore_args(t)`,
  which takes each leaf's sharding from the target and restores strings too (Flax's asked for
  every non-jax leaf as an ndarray). `mesh=` crashed on the pinned Flax for targets with a
  non-NamedSharding array; the mesh belongs in the target's shardings (flagged).
"""

from __future__ import annotations

import libcst as cst

from . import legacy_api
from .analysis import Analysis
from .arguments import bound_arguments, is_none

MESH_REASON = (
    'mesh= is gone: the restored arrays take each target leaf\'s sharding. For another mesh, '
    'put jax.ShapeDtypeStruct(shape, dtype, sharding=NamedSharding(mesh, spec)) leaves in the target')


def rewrite_orbax_utils(an: Analysis, call: cst.Call, name: str) -> None:
    try:
        args = bound_arguments(name, call)
    except legacy_api.BindError as e:
        an.flag(call, name, f'cannot read the arguments ({e})')
        return
    target = an.code(args['target'])
    an.need_import('orbax.checkpoint', None, 'ocp')
    if name == legacy_api.SAVE_ARGS:
        an.need_import('jax')
        an.plan.calls[call] = f'jax.tree.map(lambda _: ocp.SaveArgs(), {target})'
        an.rewritten(call, name, 'jax.tree.map(lambda _: ocp.SaveArgs(), ...)')
        return
    an.plan.calls[call] = f'ocp.checkpoint_utils.construct_restore_args({target})'
    an.rewritten(call, name, 'ocp.checkpoint_utils.construct_restore_args(...)')
    if not is_none(args.get('mesh')):
        an.flag(call, name, MESH_REASON)

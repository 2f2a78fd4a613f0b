"""Patterns flagged with a TODO (never rewritten): they need a person's decision.

- `flax.config.update('flax_use_orbax_checkpointing', ...)`: those runs wrote msgpack files;
- a legacy function passed around (`functools.partial(checkpoints.save_checkpoint, ...)`);
- a Flax step path built by hand (`os.path.join(d, 'checkpoint_' + str(step))`).
"""

from __future__ import annotations

import libcst as cst

from . import legacy_api
from .analysis import Analysis

CONFIG_REASON = (
    "runs with flax_use_orbax_checkpointing=False wrote msgpack files: move them with "
    "`ckpt-lab convert SRC DST`; after the migration this switch does nothing")
REFERENCE_REASON = (
    '{name} is passed around, not called here (functools.partial, a callback): build one '
    'ocp.CheckpointManager with these options and call mngr.save/mngr.restore where it runs')
MANUAL_PATH_REASON = (
    "builds a Flax step path by hand: an Orbax step folder '<step_prefix>_<step>' holds item "
    "folders (default/), not a file; ask the manager (mngr.latest_step(), mngr.directory)")


def flag_config_update(an: Analysis, call: cst.Call) -> None:
    if call.args and isinstance(call.args[0].value, cst.SimpleString) and (
            call.args[0].value.evaluated_value == 'flax_use_orbax_checkpointing'):
        an.flag(call, legacy_api.CONFIG_UPDATE, CONFIG_REASON)


def flag_reference(an: Analysis, node: cst.CSTNode, name: str) -> None:
    parent = an.parents.get(node)
    if isinstance(parent, cst.Call) and parent.func is node:
        return
    if isinstance(parent, cst.Attribute) and parent.value is node:
        return  # part of a longer name (`AsyncManager().wait_previous_save`)
    if any(isinstance(p, (cst.Import, cst.ImportFrom)) for p in an.ancestors(node)):
        return
    an.flag(node, name, REFERENCE_REASON.format(name=legacy_api.short(name)))


def flag_manual_path(an: Analysis, node: cst.SimpleString | cst.FormattedStringText,
                     prefixes: set[str]) -> None:
    value = node.evaluated_value if isinstance(node, cst.SimpleString) else node.value
    if value not in prefixes:
        return
    parent = an.parents.get(node)
    if isinstance(node, cst.FormattedStringText) or isinstance(parent, cst.BinaryOperation):
        an.flag(node, 'manual step path', MANUAL_PATH_REASON)

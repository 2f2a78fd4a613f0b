"""Which legacy API a node names, by import (libcst `QualifiedNameProvider`), never by text.

`checkpoints.save_checkpoint` is Flax's only where `checkpoints` was imported from
`flax.training`; a project's own `checkpoints` module, a local `restore_checkpoint` or a
method `self.save_checkpoint` resolve to other names and are never touched.

>>> import libcst as cst
>>> from libcst.metadata import MetadataWrapper, QualifiedNameProvider
>>> w = MetadataWrapper(cst.parse_module('from flax.training import checkpoints as c\\nc.latest_checkpoint(d)\\n'))
>>> call = w.module.body[1].body[0].value
>>> legacy_name(w.resolve(QualifiedNameProvider), call.func)
'flax.training.checkpoints.latest_checkpoint'
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import QualifiedNameSource

from . import legacy_api

LEGACY_MODULES = (legacy_api.CHECKPOINTS, legacy_api.ORBAX_UTILS)


def imported_name(qualified: dict, node: cst.CSTNode) -> str | None:
    """The qualified name `node` refers to through an import, or None (local, attribute, unknown)."""
    names = qualified.get(node, ())
    if callable(names):  # QualifiedNameProvider computes names lazily
        names = names()
    for name in names:
        if name.source == QualifiedNameSource.IMPORT:
            return name.name
    return None


def legacy_name(qualified: dict, node: cst.CSTNode) -> str | None:
    """`node`'s qualified name when it is in Flax's checkpoint modules (or `flax.config.update`)."""
    name = imported_name(qualified, node)
    if name is None:
        return None
    if name.startswith(tuple(m + '.' for m in LEGACY_MODULES)) or name == legacy_api.CONFIG_UPDATE:
        return name
    return None

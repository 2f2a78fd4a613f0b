"""A call's arguments matched to a legacy signature, as CST nodes.

>>> import libcst as cst
>>> call = cst.parse_expression('save_checkpoint(d, s, 3, keep=2)')
>>> sorted(bound_arguments('flax.training.checkpoints.save_checkpoint', call))
['ckpt_dir', 'keep', 'step', 'target']
"""

from __future__ import annotations

import libcst as cst

from . import legacy_api


def bound_arguments(name: str, call: cst.Call) -> dict[str, cst.BaseExpression]:
    """{parameter: argument node}; raises `legacy_api.BindError` for `*args`, `**kw`, unknowns."""
    positional, keywords = [], {}
    for arg in call.args:
        if arg.star:
            raise legacy_api.BindError(f'{arg.star}-arguments cannot be read before run time')
        if arg.keyword is None:
            positional.append(arg.value)
        else:
            keywords[arg.keyword.value] = arg.value
    return legacy_api.bind(name, positional, keywords)


def is_none(node: cst.BaseExpression | None) -> bool:
    """True for a missing argument or a literal None."""
    return node is None or (isinstance(node, cst.Name) and node.value == 'None')


def is_true(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == 'True'


def is_false(node: cst.BaseExpression | None) -> bool:
    return node is None or (isinstance(node, cst.Name) and node.value == 'False')

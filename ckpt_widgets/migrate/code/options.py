"""Flax's `prefix`, `keep` and `keep_every_n_steps` as Orbax `CheckpointManagerOptions` code.

Facts behind each rule (checked on the pinned stack, tests/migrate/test_facts.py):
- Orbax names a step `<step_prefix>_<step>`: Flax's `prefix='test_'` is `step_prefix='test'`, and
  prefixes with more underscores (`'u_pinn_checkpoint_3_'`) name and list steps the same way.
- Flax's default `keep=1` deletes every older step; `keep=0` and `keep=np.inf` keep all.
- `keep_every_n_steps` is not Orbax's `EveryNSteps` (that keeps multiples of n): `FlaxRetention`.

>>> import libcst as cst
>>> step_prefix(cst.parse_expression("f'{name}_'")).code
"f'{name}'"
>>> retention(cst.parse_expression('3'), None).code
'ocp.checkpoint_managers.LatestN(3)'
"""

from __future__ import annotations

import dataclasses

import libcst as cst

RETENTION_MODULE = 'ckpt_widgets.migrate.retention'
_INFINITY_NAMES = {'inf', 'infty', 'Inf'}


@dataclasses.dataclass(frozen=True)
class Converted:
    """Orbax code for one Flax option (None: leave the option out), and what to tell the user.

    `flag` is a reason for a TODO (the rewrite is not exact); `note` goes in the report only.
    """

    code: str | None
    flag: str | None = None
    note: str | None = None
    needs_retention: bool = False


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=()).code_for_node(node)


def _strip_underscore_string(node: cst.SimpleString) -> cst.SimpleString | None:
    raw = node.raw_value
    if not raw.endswith('_'):
        return None
    return node.with_changes(value=node.prefix + node.quote + raw[:-1] + node.quote)


def step_prefix(node: cst.BaseExpression | None) -> Converted:
    """Orbax `step_prefix` code for Flax's `prefix` argument (None: Flax's default 'checkpoint_').

    >>> step_prefix(None).code
    "'checkpoint'"
    >>> step_prefix(cst.parse_expression("'u_' + str(w) + '_'")).code
    "'u_' + str(w)"
    >>> step_prefix(cst.parse_expression('name')).code
    "name.removesuffix('_')"
    """
    if node is None:
        return Converted("'checkpoint'")
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        if value == '':
            return Converted(None)
        stripped = _strip_underscore_string(node)
        if stripped is None:
            return Converted(_code(node), flag=(
                f"Flax named these steps {value}<step>; Orbax always puts '_' between "
                f"step_prefix and the step, so the folders become {value}_<step>"))
        return Converted(_code(stripped))
    if isinstance(node, cst.FormattedString) and node.parts:
        last = node.parts[-1]
        if isinstance(last, cst.FormattedStringText) and last.value.endswith('_'):
            parts = list(node.parts[:-1])
            if last.value[:-1]:
                parts.append(last.with_changes(value=last.value[:-1]))
            return Converted(_code(node.with_changes(parts=parts)))
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        right = node.right
        if isinstance(right, cst.SimpleString) and right.raw_value.endswith('_'):
            if right.raw_value == '_':
                return Converted(_code(node.left))
            return Converted(_code(node.with_changes(right=_strip_underscore_string(right))))
    text = _code(node)
    if not isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
        text = f'({text})'
    return Converted(f"{text}.removesuffix('_')", note=(
        "prefix is computed at run time: Orbax adds the '_' itself, so the rewrite drops "
        "a trailing '_'"))


def _is_infinity(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Attribute) and node.attr.value in _INFINITY_NAMES:
        return True
    if isinstance(node, cst.Name) and node.value in _INFINITY_NAMES:
        return True
    if (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
            and node.func.value == 'float' and len(node.args) == 1
            and isinstance(node.args[0].value, cst.SimpleString)):
        return node.args[0].value.evaluated_value.strip().lower() in ('inf', 'infinity')
    return False


def _keep_policy(keep: cst.BaseExpression) -> str | None:
    """LatestN code for `keep`, or None where Flax keeps every step (0 or infinity)."""
    if isinstance(keep, cst.IfExp):
        body, orelse = _keep_policy(keep.body), _keep_policy(keep.orelse)
        if body is None and orelse is None:
            return None
        return f'{body} if {_code(keep.test)} else {orelse}'
    if isinstance(keep, cst.Integer) and keep.evaluated_value == 0:
        return None
    if _is_infinity(keep):
        return None
    return f'ocp.checkpoint_managers.LatestN({_code(keep)})'


def retention(keep: cst.BaseExpression | None,
              every: cst.BaseExpression | None) -> Converted:
    """`preservation_policy` code for Flax's `keep` (default 1) and `keep_every_n_steps`.

    >>> retention(None, None).code
    'ocp.checkpoint_managers.LatestN(1)'
    >>> retention(cst.parse_expression('np.inf'), None).code is None
    True
    >>> retention(cst.parse_expression('3'), cst.parse_expression('2')).code
    'FlaxRetention(keep=3, keep_every_n_steps=2)'
    """
    if every is not None and not (isinstance(every, cst.Name) and every.value == 'None'):
        keep_code = '1' if keep is None else _code(keep)
        flag = None
        if keep is not None and (_is_infinity(keep) or isinstance(keep, cst.IfExp)):
            flag = ('FlaxRetention needs an int keep: say how many of the latest steps '
                    'to keep (Flax kept all of them with keep=inf)')
        return Converted(f'FlaxRetention(keep={keep_code}, keep_every_n_steps={_code(every)})',
                         flag=flag, needs_retention=True)
    if keep is None:
        return Converted('ocp.checkpoint_managers.LatestN(1)')
    return Converted(_keep_policy(keep))


def manager_options(entries: list[tuple[str, str | None]]) -> str:
    """`ocp.CheckpointManagerOptions(...)` code from (name, code) pairs; None codes are left out.

    >>> manager_options([('step_prefix', "'test'"), ('preservation_policy', None)])
    "ocp.CheckpointManagerOptions(step_prefix='test')"
    """
    args = ', '.join(f'{name}={code}' for name, code in entries if code is not None)
    return f'ocp.CheckpointManagerOptions({args})'


def absolute(node: cst.BaseExpression) -> str:
    """Code for the absolute form of a directory argument (Orbax refuses relative paths).

    >>> absolute(cst.parse_expression('workdir'))
    'os.path.abspath(workdir)'
    >>> absolute(cst.parse_expression("'gs://bucket/run'"))
    "'gs://bucket/run'"
    """
    text = _code(node)
    if isinstance(node, cst.SimpleString) and (
            '://' in node.evaluated_value or node.evaluated_value.startswith('/')):
        return text
    if text.startswith(('os.path.abspath(', 'os.path.realpath(')):
        return text
    return f'os.path.abspath({text})'

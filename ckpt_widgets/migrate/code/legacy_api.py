"""The legacy Flax checkpoint API as the rewriter knows it: names and signatures (flax 0.12.8).

tests/migrate/test_legacy_api.py checks these against `inspect.signature` of the pinned Flax,
so the rewriter itself never imports Flax (it reads code, it does not run it).

>>> bind(SAVE, ['d', 't', '3'], {'keep': '2'})['step']
'3'
"""

from __future__ import annotations

CHECKPOINTS = 'flax.training.checkpoints'
ORBAX_UTILS = 'flax.training.orbax_utils'

SAVE = f'{CHECKPOINTS}.save_checkpoint'
SAVE_MULTIPROCESS = f'{CHECKPOINTS}.save_checkpoint_multiprocess'
RESTORE = f'{CHECKPOINTS}.restore_checkpoint'
LATEST = f'{CHECKPOINTS}.latest_checkpoint'
ASYNC_MANAGER = f'{CHECKPOINTS}.AsyncManager'
SAVE_ARGS = f'{ORBAX_UTILS}.save_args_from_target'
RESTORE_ARGS = f'{ORBAX_UTILS}.restore_args_from_target'
CONFIG_UPDATE = 'flax.config.update'

# Parameter names in order, and the defaults the rewriter needs to know.
SIGNATURES: dict[str, tuple[str, ...]] = {
    SAVE: ('ckpt_dir', 'target', 'step', 'prefix', 'keep', 'overwrite', 'keep_every_n_steps',
           'async_manager', 'orbax_checkpointer'),
    SAVE_MULTIPROCESS: ('ckpt_dir', 'target', 'step', 'prefix', 'keep', 'overwrite',
                        'keep_every_n_steps', 'async_manager', 'gda_manager', 'orbax_checkpointer'),
    RESTORE: ('ckpt_dir', 'target', 'step', 'prefix', 'parallel', 'gda_manager',
              'allow_partial_mpa_restoration', 'orbax_checkpointer', 'orbax_transforms'),
    LATEST: ('ckpt_dir', 'prefix'),
    SAVE_ARGS: ('target',),
    RESTORE_ARGS: ('target', 'mesh'),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    SAVE: ('ckpt_dir', 'target', 'step'),
    SAVE_MULTIPROCESS: ('ckpt_dir', 'target', 'step'),
    RESTORE: ('ckpt_dir', 'target'),
    LATEST: ('ckpt_dir',),
    SAVE_ARGS: ('target',),
    RESTORE_ARGS: ('target',),
}
DEFAULT_PREFIX = 'checkpoint_'

# Everything the rewriter turns into Orbax code; other names of the module are left alone.
REWRITTEN = frozenset(SIGNATURES) | {ASYNC_MANAGER}


class BindError(ValueError):
    """The call's arguments cannot be matched to the signature (e.g. `*args`, unknown keyword)."""


def bind(name: str, positional: list, keywords: dict) -> dict:
    """Matches a call's arguments to `name`'s parameters, like Python does.

    >>> bind(RESTORE, ['d'], {'target': 'None'})
    {'ckpt_dir': 'd', 'target': 'None'}
    >>> try:
    ...     bind(LATEST, ['d'], {'nope': '1'})
    ... except BindError as e:
    ...     print(e)
    unknown argument nope=
    """
    params = SIGNATURES[name]
    if len(positional) > len(params):
        raise BindError(f'{len(positional)} positional arguments, at most {len(params)} expected')
    bound = dict(zip(params, positional, strict=False))  # fewer positionals than params
    for key, value in keywords.items():
        if key not in params:
            raise BindError(f'unknown argument {key}=')
        if key in bound:
            raise BindError(f'{key} given twice')
        bound[key] = value
    missing = [p for p in REQUIRED[name] if p not in bound]
    if missing:
        raise BindError(f'missing {", ".join(missing)}')
    return bound


def short(name: str) -> str:
    """`checkpoints.save_checkpoint` for the report.

    >>> short(SAVE)
    'checkpoints.save_checkpoint'
    """
    return '.'.join(name.split('.')[-2:])

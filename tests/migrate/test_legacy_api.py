"""The rewriter's copy of the legacy signatures matches the pinned Flax (it never imports Flax)."""

import importlib
import inspect

import pytest

from ckpt_widgets.migrate.code import legacy_api


@pytest.mark.parametrize('qualified', sorted(legacy_api.SIGNATURES))
def test_signature_matches_pinned_flax(qualified):
    module, name = qualified.rsplit('.', 1)
    fn = getattr(importlib.import_module(module), name)
    params = inspect.signature(fn).parameters
    assert tuple(params) == legacy_api.SIGNATURES[qualified]
    required = tuple(n for n, p in params.items() if p.default is inspect.Parameter.empty)
    assert required == legacy_api.REQUIRED[qualified]


def test_default_prefix_is_flax_default():
    from flax.training import checkpoints
    default = inspect.signature(checkpoints.save_checkpoint).parameters['prefix'].default
    assert default == legacy_api.DEFAULT_PREFIX


def test_bind_rejects_what_python_would():
    with pytest.raises(legacy_api.BindError, match='given twice'):
        legacy_api.bind(legacy_api.SAVE, ['d', 't', 1], {'step': 2})
    with pytest.raises(legacy_api.BindError, match='missing step'):
        legacy_api.bind(legacy_api.SAVE, ['d', 't'], {})

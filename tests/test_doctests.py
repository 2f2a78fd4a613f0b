"""The examples in the docstrings of the modules run and print what they say."""

import doctest
import importlib

import pytest

MODULES = [
    'ckpt_widgets', 'ckpt_widgets.names', 'ckpt_widgets.scan', 'ckpt_widgets.steps',
    'ckpt_widgets.pytrees', 'ckpt_widgets.render', 'ckpt_widgets.views', 'ckpt_widgets.runtime',
    'ckpt_widgets.model', 'ckpt_widgets.errors', 'ckpt_widgets.deprecation_events',
    'ckpt_widgets.failure_noise', 'ckpt_widgets.health', 'ckpt_widgets.shown', 'ckpt_widgets.upstream',
    'ckpt_widgets.migrate.retention',
    'ckpt_widgets.lab.examples', 'ckpt_widgets.lab.async_watch', 'ckpt_widgets.lab.tuning',
    'ckpt_widgets.watch',
    'ckpt_widgets.lab.child',
    'ckpt_widgets.lab.failures.corruption', 'ckpt_widgets.lab.failures.targets',
    'ckpt_widgets.lab.failures.crashes', 'ckpt_widgets.lab.failures.exit_hang',
    'ckpt_widgets.lab.multiprocess', 'ckpt_widgets.lab.costs',
    'ckpt_widgets.lab.failures.crash_child', 'ckpt_widgets.lab.multiprocess_worker',
    'ckpt_widgets.migrate.convert', 'ckpt_widgets.migrate.legacy', 'ckpt_widgets.read_step',
    'ckpt_widgets.workshop', 'ckpt_widgets.workshop.verdict', 'ckpt_widgets.workshop.harness',
    'ckpt_widgets.workshop.legacy_code', 'ckpt_widgets.workshop.hints',
    'ckpt_widgets.workshop.progress', 'ckpt_widgets.workshop.board',
    'ckpt_widgets.workshop.simulate',
]


@pytest.mark.parametrize('name', MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f'{name} has no docstring example'
    assert result.failed == 0, f'{result.failed} docstring example(s) of {name} failed'

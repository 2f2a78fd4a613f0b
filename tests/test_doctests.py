"""The examples in the docstrings of the core modules run and print what they say."""

import doctest
import importlib

import pytest

MODULES = ['layout', 'scan', 'steps', 'pytrees', 'render', 'views', 'runtime', 'model',
           'examples', 'compat', 'errors', 'async_watch', 'deprecation_events', 'failure_noise']


@pytest.mark.parametrize('name', MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f'ckpt_widgets.{name}')
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f'ckpt_widgets.{name} has no docstring example'
    assert result.failed == 0, f'{result.failed} docstring example(s) of ckpt_widgets.{name} failed'

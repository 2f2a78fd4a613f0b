"""The docstring examples of the migration room run and print what they say."""

import doctest
import importlib

import pytest

MODULES = ['retention', 'cli', 'code', 'code.legacy_api', 'code.options', 'code.report',
           'code.plan', 'code.resolve', 'code.arguments', 'code.rewrite', 'code.files',
           'code.notebook', 'code.prefilter', 'code.imports']


@pytest.mark.parametrize('name', MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f'ckpt_widgets.migrate.{name}')
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f'{name} has no docstring example'
    assert result.failed == 0, f'{result.failed} docstring example(s) of {name} failed'

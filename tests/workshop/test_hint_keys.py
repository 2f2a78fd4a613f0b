"""Every hint of the checker carries a key of the hint table; the board knows every exercise."""

import ast
import doctest
import importlib
from pathlib import Path

import pytest

import ckpt_widgets
from ckpt_widgets import exercises as ex
from ckpt_widgets.workshop import board, hints

PACKAGE = Path(ckpt_widgets.__file__).parent


def hint_keys_in_the_checker() -> set[str]:
    tree = ast.parse((PACKAGE / 'exercises.py').read_text())
    keys = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', '') == 'Hint':
            first = node.args[0]
            if isinstance(first, ast.Constant):
                keys.add(first.value)
            elif isinstance(first, ast.JoinedStr):
                keys.add('raised:')  # f'raised:{type(error).__name__}'
            else:
                keys.add(ast.unparse(first))
    return keys


def test_every_key_the_checker_uses_is_in_the_table_and_every_row_is_used():
    used = hint_keys_in_the_checker()
    assert 'key' in used  # the two keys chosen in check_training_loop's retention branch
    literal = used - {'key', 'raised:'}
    assert literal <= set(hints.HINTS), literal - set(hints.HINTS)
    assert set(hints.HINTS) - literal <= {'keep-period', 'retention', 'raised'}


def test_a_key_not_in_the_table_is_refused():
    with pytest.raises(ValueError, match='not in the hint table'):
        ex.Hint('no-such-mistake', 'text')
    assert ex.Hint('raised:OSError', 'x').key == 'raised:OSError'


def test_the_board_knows_the_checkers_exercises_in_order():
    assert tuple(key for key, _ in board.EXERCISES) == tuple(ex.EXERCISES)


def test_the_views_never_import_the_workshop_room():
    view_modules = ['__init__', 'layout', 'model', 'scan', 'steps', 'pytrees', 'render', 'views',
                    'errors', 'runtime', 'failure_noise', 'restore']
    for name in view_modules:
        tree = ast.parse((PACKAGE / f'{name}.py').read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = ('.' * node.level) + (node.module or '')
                names = [a.name for a in node.names]
                assert 'workshop' not in target and 'workshop' not in names, (name, target)
            elif isinstance(node, ast.Import):
                assert not any('workshop' in a.name for a in node.names), name


def test_cw_classboard_is_the_boards_class_and_loaded_only_when_asked():
    assert ckpt_widgets.ClassBoard is board.ClassBoard
    assert 'ClassBoard' in ckpt_widgets.__all__


@pytest.mark.parametrize('name', ['hints', 'progress', 'board', 'simulate'])
def test_docstring_examples(name):
    module = importlib.import_module(f'ckpt_widgets.workshop.{name}')
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0

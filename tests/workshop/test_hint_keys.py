"""Every hint of the checker carries a key of the hint table; the board knows every exercise."""

import ast
from pathlib import Path

import pytest

import ckpt_widgets
from ckpt_widgets import workshop as ex
from ckpt_widgets.workshop import board, hints
from ckpt_widgets.workshop.verdict import Hint

PACKAGE = Path(ckpt_widgets.__file__).parent


CHECKER = ('harness', 'verdict', 'training_loop', 'pure_save_load', 'restore_without_target',
           'async_save', 'single_array')


def hint_keys_in_the_checker() -> set[str]:
    keys = set()
    for name in CHECKER:
        tree = ast.parse((PACKAGE / 'workshop' / f'{name}.py').read_text())
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
        Hint('no-such-mistake', 'text')
    assert Hint('raised:OSError', 'x').key == 'raised:OSError'


def test_the_board_knows_the_checkers_exercises_in_order():
    assert tuple(key for key, _ in board.EXERCISES) == tuple(ex.EXERCISES)


def test_every_check_records_its_verdict_under_its_exercise():
    for name, check in ex.EXERCISES.items():
        assert check.exercise == name and getattr(ex, f'check_{name}') is check


def test_cw_classboard_is_the_boards_class_and_loaded_only_when_asked():
    assert ckpt_widgets.ClassBoard is board.ClassBoard
    assert 'ClassBoard' in ckpt_widgets.__all__


"""simulate: the simulated room runs the real checker in background processes, bounded."""

import os
import subprocess
import sys

import pytest

from ckpt_widgets import runtime
from ckpt_widgets import workshop as ex
from ckpt_widgets.workshop import board, progress, simulate
from tests.helpers import is_running


@pytest.fixture(scope='module', autouse=True)
def private_workdirs(tmp_path_factory):
    before = runtime._BASE
    runtime._BASE = tmp_path_factory.mktemp('simulate')
    yield
    runtime._BASE = before


MISTAKES = [(exercise, fn) for exercise, fns in simulate.MISTAKES.items() for fn in fns]


@pytest.mark.parametrize('exercise, fn', MISTAKES, ids=[fn.__name__ for _, fn in MISTAKES])
def test_each_mistake_gets_the_answer_the_sample_room_records(exercise, fn):
    verdict = ex.check_exercise(exercise, fn)
    assert (verdict.hint_key, verdict.message) == simulate.ANSWERS[fn.__name__]


@pytest.mark.parametrize('exercise', list(simulate.SOLUTIONS))
def test_each_solution_passes(exercise):
    assert ex.check_exercise(exercise, simulate.SOLUTIONS[exercise]).passed
    assert ex.check_exercise(exercise, simulate.untouched_stub).status == 'not attempted'


def test_a_small_room_records_every_planned_check(tmp_path):
    exercises = ('pure_save_load', 'restore_without_target')
    result = simulate.run_room(tmp_path, learners=2, seconds=240, exercises=exercises,
                               pause=0.0, stagger=0.0)
    assert (result.finished, result.killed, result.failed) == (2, 0, 0), result.text
    assert not any(is_running(pid) for pid in result.pids)
    m = board.parse_board(tmp_path, now=0.0)
    assert [r.name for r in m.learners] == ['ada', 'alan'] and m.skipped_lines == ()
    for index, row in enumerate(m.learners):
        planned = simulate.plan(index, exercises)
        assert len(planned) == len(progress.read_file(tmp_path / f'{row.name}.jsonl')[0])
        for exercise, cell in zip((k for k, _ in board.EXERCISES), row.cells, strict=True):
            mine = [name for name, e in planned if e == exercise]
            assert cell.tries == sum(name != 'untouched_stub' for name in mine)
            assert cell.status == ('passed' if mine else '')


def test_the_time_limit_kills_every_learner_by_pid(tmp_path):
    result = simulate.run_room(tmp_path, learners=2, seconds=1.0, pause=5.0, stagger=0.0)
    assert result.killed == 2 and result.finished == 0 and result.failed == 0
    assert not any(is_running(pid) for pid in result.pids)


def test_the_command_line_refuses_bad_arguments_in_one_line(tmp_path):
    for args in ([], [str(tmp_path), '--learners', '0'], [str(tmp_path), '--exercises', 'nope'],
                 [str(tmp_path), '--seconds', 'soon']):
        child = subprocess.run([sys.executable, '-m', 'ckpt_widgets.workshop.simulate', *args],
                               check=False, capture_output=True, text=True, timeout=60)
        assert child.returncode == 2 and child.stdout == '', args
        assert len(child.stderr.splitlines()) == 1 and 'Traceback' not in child.stderr, child.stderr


def test_the_sample_room_is_the_plan_cut_mid_session(tmp_path):
    folder = simulate.sample_room(tmp_path / 'one', learners=12)
    assert sorted(p.stem for p in folder.iterdir()) == list(simulate.LEARNERS)
    again = simulate.sample_room(tmp_path / 'again', learners=12)
    assert all((folder / n).read_bytes() == (again / n).read_bytes() for n in os.listdir(folder))


def test_the_command_line_runs_a_room_and_says_how_it_ended(tmp_path):
    child = subprocess.run([sys.executable, '-m', 'ckpt_widgets.workshop.simulate', str(tmp_path),
                            '--learners', '1', '--exercises', 'single_array', '--pause', '0'],
                           check=False, capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout == '1 learner: 1 finished, 0 stopped at the time limit, 0 failed\n'
    planned = simulate.plan(0, ('single_array',))
    assert len(progress.read_file(tmp_path / 'ada.jsonl')[0]) == len(planned)

"""The views on directories left by real runs: a 2-process save and a training child killed
with SIGKILL in the middle of an async save."""

import re

import ckpt_widgets as cw
from ckpt_widgets import health
from ckpt_widgets.lab.failures import crashes
from ckpt_widgets.lab.multiprocess import save_global_array_from_processes
from tests.helpers import tree_state


def test_two_process_layout_shows_each_process_and_no_false_steps(tmp_path):
    save_global_array_from_processes(tmp_path / 'mp', timeout=90)
    text = cw.DirectoryTree(tmp_path / 'mp').text
    assert text.splitlines()[1] == '└── 0/  [step]'
    assert 'ocdbt.process_0/  [process 0 data]' in text
    assert 'ocdbt.process_1/  [process 1 data]' in text
    assert 'array_metadatas/  [array metadata]' in text
    assert '        │   ├── process_0  132 B' in text and '        │   └── process_1  132 B' in text
    # no per-process folder read as a step
    assert not re.search(r'\[(unfinished )?step[;\]]', text.split('└── 0/  [step]')[1])
    assert cw.RetainedSteps(tmp_path / 'mp').kept == (0,)


def test_a_save_killed_midway_shows_as_unfinished_and_the_views_change_nothing(tmp_path):
    report = crashes.crash_during_save(tmp_path / 'run', kill_step=2)
    assert report.nothing_lost
    before = tree_state(tmp_path / 'run')
    steps = cw.RetainedSteps(tmp_path / 'run', diagnose=health.diagnose_step)
    assert steps.kept == (0, 1) and steps.unfinished == (2,)
    assert '   2  unfinished  save not committed' in steps.text
    tree = cw.DirectoryTree(tmp_path / 'run', expand='none').text
    assert tree.splitlines()[1:] == [
        '├── 0/  [step; items: default]',
        '├── 1/  [step; items: default]',
        '└── 2.orbax-checkpoint-tmp/  [unfinished step; save not committed]',
    ]
    board = cw.Dashboard(tmp_path / 'run').select(1)
    assert 'step 1:' in board.text
    assert tree_state(tmp_path / 'run') == before

"""progress: recording a verdict per check, off by default, never failing a check."""

import errno
import fcntl
import json
import os
import subprocess
import sys
import textwrap

import pytest

from ckpt_widgets import runtime
from ckpt_widgets import workshop as ex
from ckpt_widgets.workshop import progress


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv(progress.ENV_FOLDER, raising=False)
    monkeypatch.delenv(progress.ENV_LEARNER, raising=False)
    before = runtime._BASE
    runtime._BASE = tmp_path / 'work'
    runtime._BASE.mkdir()
    yield
    runtime._BASE = before


def stub(ckpt_dir, arr):
    ...


def saves_nothing(ckpt_dir, arr):
    return arr.shape


def lines_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_off_without_the_variable_writes_nothing_and_returns_the_same_verdict(tmp_path):
    verdict = ex.Verdict('Exercise 0', 'failed', 'hint', hint_key='str-leaf')
    assert progress.record(verdict, 'training_loop') is verdict
    before = sorted(p for p in tmp_path.rglob('*'))
    assert ex.check_single_array(stub).status == 'not attempted'
    assert sorted(p for p in tmp_path.rglob('*')) == before


def test_every_check_appends_one_record_with_a_stable_hint_key(tmp_path, monkeypatch):
    folder = tmp_path / 'room'
    monkeypatch.setenv(progress.ENV_FOLDER, str(folder))
    monkeypatch.setenv(progress.ENV_LEARNER, 'ada')
    first = ex.check_single_array(stub)
    second = ex.check_exercise('single_array', saves_nothing)
    assert first.details == () and second.status == 'failed'  # recording added nothing
    records = lines_of(folder / 'ada.jsonl')
    assert [r['status'] for r in records] == ['not attempted', 'failed']
    assert all(r['learner'] == 'ada' and r['exercise'] == 'single_array' for r in records)
    assert records[1]['hint'] == second.message and records[1]['hint_key'] == 'nothing-saved'
    assert records[0]['hint'] == '' and records[0]['hint_key'] == ''
    assert list(records[1]) == list(progress.FIELDS) and records[1]['format'] == progress.FORMAT


def test_the_learner_is_the_variable_else_the_login_name(monkeypatch):
    assert progress.learner_name({progress.ENV_LEARNER: 'grace'}) == 'grace'
    monkeypatch.setattr(progress.getpass, 'getuser', lambda: 'login')
    assert progress.learner_name({progress.ENV_LEARNER: '  '}) == 'login'
    assert progress.learner_name({}) == 'login'

    def no_login():
        raise KeyError('getpwuid(): uid not found: 1234')

    monkeypatch.setattr(progress.getpass, 'getuser', no_login)
    assert progress.learner_name({}) == 'unknown'


def test_a_learner_name_cannot_leave_the_folder_or_hide(tmp_path):
    for name in ('../../etc/passwd', '/abs', '.hidden', 'a b<c>', ''):
        stem = progress.file_stem(name)
        assert '/' not in stem and not stem.startswith('.') and stem
        path = progress.append(tmp_path, name, b'{}\n')
        assert path.parent == tmp_path


def test_one_write_per_record_on_a_file_opened_for_append(tmp_path, monkeypatch):
    calls = []
    real_write = os.write

    def write(fd, data):
        calls.append((fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND, len(data)))
        return real_write(fd, data)

    monkeypatch.setattr(os, 'write', write)
    monkeypatch.setenv(progress.ENV_FOLDER, str(tmp_path))
    monkeypatch.setenv(progress.ENV_LEARNER, 'ada')
    verdict = ex.Verdict('Exercise 1', 'failed', 'a hint\nsecond line', hint_key='keep-period')
    for _ in range(3):
        progress.record(verdict, 'training_loop')
    assert len(calls) == 3 and all(flag for flag, _ in calls)
    assert [r['hint'] for r in lines_of(tmp_path / 'ada.jsonl')] == ['a hint'] * 3


CHILD = textwrap.dedent('''
    import sys
    from pathlib import Path
    from ckpt_widgets.workshop import progress
    folder, letter, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    for i in range(count):
        rec = {'format': progress.FORMAT, 'learner': 'ada', 'exercise': 'single_array',
               'status': 'failed', 'hint': letter * 60000, 'hint_key': letter, 'time': i}
        progress.append(folder, 'ada', progress.encode(rec))
''')


def test_two_processes_appending_never_mix_their_lines(tmp_path):
    """Two kernels of one learner, each writing 60 kB records as fast as it can."""
    count = 150
    children = [subprocess.Popen([sys.executable, '-c', CHILD, str(tmp_path), letter, str(count)])
                for letter in 'ab']
    for child in children:
        assert child.wait(timeout=120) == 0
    records = lines_of(tmp_path / 'ada.jsonl')  # every line parses: none was cut or mixed
    assert len(records) == 2 * count
    for letter in 'ab':
        mine = [r for r in records if r['hint_key'] == letter]
        assert len(mine) == count and all(r['hint'] == letter * 60000 for r in mine)
        assert [r['time'] for r in mine] == list(range(count))


def recorded_with_failure(monkeypatch, tmp_path, folder):
    monkeypatch.setenv(progress.ENV_FOLDER, str(folder))
    monkeypatch.setenv(progress.ENV_LEARNER, 'ada')
    verdict = ex.Verdict('Exercise 1', 'failed', 'the hint', ('also: more',), 'keep-period')
    return verdict, progress.record(verdict, 'training_loop')


def test_a_full_disk_gives_one_warning_line_and_the_same_verdict(tmp_path, monkeypatch):
    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, 'write', full)
    verdict, after = recorded_with_failure(monkeypatch, tmp_path, tmp_path / 'room')
    assert after.details == verdict.details + (
        'progress not recorded (CKPT_LAB_PROGRESS): No space left on device',)
    assert (after.status, after.message, after.exercise, after.hint_key) == (
        verdict.status, verdict.message, verdict.exercise, verdict.hint_key)
    assert after.text.splitlines()[:2] == verdict.text.splitlines()


def test_a_disk_that_fills_mid_record_ends_the_line_and_warns(tmp_path, monkeypatch):
    real_write = os.write
    sizes = []

    def short(fd, data):
        sizes.append(len(data))
        return real_write(fd, data[:10] if len(sizes) == 1 else data)

    monkeypatch.setattr(os, 'write', short)
    verdict, after = recorded_with_failure(monkeypatch, tmp_path, tmp_path)
    assert after.details[-1].startswith('progress not recorded (CKPT_LAB_PROGRESS): No space')
    monkeypatch.setattr(os, 'write', real_write)
    assert progress.record(verdict, 'training_loop') is verdict
    lines, problem = progress.read_file(tmp_path / 'ada.jsonl')
    assert problem is None and lines[0] == 'not JSON' and lines[1].hint == 'the hint'


def test_a_folder_that_is_a_file_gives_one_warning_line(tmp_path, monkeypatch):
    not_a_folder = tmp_path / 'progress'
    not_a_folder.write_text('notes')
    verdict, after = recorded_with_failure(monkeypatch, tmp_path, not_a_folder)
    assert after.details == verdict.details + (
        'progress not recorded (CKPT_LAB_PROGRESS): it names a file, not a folder',)
    assert not_a_folder.read_text() == 'notes'


@pytest.mark.skipif(os.geteuid() == 0, reason='root writes into a read-only folder anyway')
def test_a_read_only_folder_gives_one_warning_line(tmp_path, monkeypatch):
    folder = tmp_path / 'room'
    folder.mkdir(mode=0o500)
    _, after = recorded_with_failure(monkeypatch, tmp_path, folder)
    assert after.details[-1] == 'progress not recorded (CKPT_LAB_PROGRESS): Permission denied'


def test_a_real_check_with_a_broken_folder_keeps_its_verdict(tmp_path, monkeypatch):
    (tmp_path / 'room').write_text('')
    monkeypatch.setenv(progress.ENV_FOLDER, str(tmp_path / 'room'))
    verdict = ex.check_single_array(stub)
    assert verdict.status == 'not attempted' and verdict.message.startswith('not attempted yet')
    assert verdict.details == (
        'progress not recorded (CKPT_LAB_PROGRESS): it names a file, not a folder',)


@pytest.mark.parametrize('umask', [0o022, 0o077, 0o002])
def test_files_are_created_owner_write_group_read(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = progress.append(tmp_path, 'ada', b'{}\n')
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == progress.FILE_MODE == 0o640


def test_the_file_keeps_a_mode_the_instructor_set(tmp_path):
    path = progress.append(tmp_path, 'ada', b'{}\n')
    path.chmod(0o600)
    progress.append(tmp_path, 'ada', b'{}\n')
    assert path.stat().st_mode & 0o777 == 0o600

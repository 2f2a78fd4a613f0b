"""board: the class board from fixture folders, bad input, a big room, the live view."""

import json
import os
import time

import pytest

from ckpt_widgets.workshop import board, progress, simulate
from ckpt_widgets.workshop.board import ClassBoard, board_html, board_text, parse_board

NOW = simulate.SAMPLE_NOW


def write(folder, learner, *records, raw=b''):
    data = b''.join(progress.encode(progress.make_record(**r)) for r in records) + raw
    path = folder / (progress.file_stem(learner) + progress.SUFFIX)
    with open(path, 'ab') as f:
        f.write(data)
    return path


def rec(learner='ada', exercise='training_loop', status='failed', key='keep-period',
        hint='you kept steps [0, 2, 3, 4]', minutes_ago=1):
    failed = status == 'failed'
    return {'learner': learner, 'exercise': exercise, 'status': status,
            'hint': hint if failed else '', 'hint_key': key if failed else '',
            'time': NOW - 60 * minutes_ago}


@pytest.fixture
def sample(tmp_path):
    return simulate.sample_room(tmp_path / 'room')


def test_the_sample_room_board(sample):
    model = parse_board(sample, now=NOW)
    text = board_text(model)
    lines = text.splitlines()
    assert lines[0] == 'Class board room (12 learners, 5 exercises, 65 records)'
    assert lines[1].split() == ['learner', '1', 'loop', '2', 'pure', '3', 'restore', '4',
                                'async', '5', 'array']
    assert lines[2].split() == ['ada', '○', '·', '·', '·', '·']
    assert lines[7].split() == ['edsger', '✓', '3', '✓', '1', '✓', '2', '✓', '3', '✓', '1', 'done']
    assert lines[9].split() == ['grace', '✗', '1', '·', '·', '·', '·', 'idle', '13', 'min']
    assert '2 pure: 6 ✓  2 ✗  0 ○  4 ·' in lines
    assert lines[lines.index('2 pure: 6 ✓  2 ✗  0 ○  4 ·') + 1] == '  2 learners: relative directory'
    assert model.idle == ('claude', 'grace', 'ken', 'margaret')
    assert lines[-1] == 'idle (no check for 10 min): claude, grace, ken, margaret'
    # sorted and deterministic: the same folder gives the same text and HTML
    again = parse_board(sample, now=NOW)
    assert again == model and board_html(again) == board_html(model)


def test_cells_count_tries_and_show_the_latest_status(tmp_path):
    write(tmp_path, 'ada', rec(status='not attempted', minutes_ago=5), rec(minutes_ago=4),
          rec(key='step-prefix', hint='your step folders...', minutes_ago=3),
          rec(status='passed', minutes_ago=2))
    write(tmp_path, 'bob', rec(learner='bob', minutes_ago=2))
    write(tmp_path, 'cy', rec(learner='cy', minutes_ago=1), rec(learner='cy', key='x-unknown-key',
                                                                hint='a new hint', minutes_ago=0))
    m = parse_board(tmp_path, now=NOW)
    ada, bob, _ = m.learners
    assert ada.cells[0] == board.Cell('passed', 3, '', '') and ada.cells[0].text == '✓ 3'
    assert bob.cells[0].text == '✗ 1' and bob.cells[1].text == '·'
    loop = m.summaries[0]
    assert (loop.passed, loop.failed, loop.not_attempted, loop.not_started) == (1, 2, 0, 0)
    # one learner per mistake; a key the table does not know shows the recorded hint
    assert [(h.key, h.label, h.learners) for h in loop.hints] == [
        ('keep-period', 'keep_period is not keep_every_n_steps', 1),
        ('x-unknown-key', 'a new hint', 1)]


def test_the_most_common_current_hint_comes_first(tmp_path):
    for i in range(6):
        write(tmp_path, f'k{i}', rec(learner=f'k{i}', key='step-prefix'), rec(learner=f'k{i}'))
    for i in range(2):
        write(tmp_path, f'p{i}', rec(learner=f'p{i}', key='step-prefix', hint='folders'))
    text = board_text(parse_board(tmp_path, now=NOW))
    assert '  6 learners: keep_period is not keep_every_n_steps' in text
    assert text.index('6 learners: keep_period') < text.index("2 learners: step_prefix='test_'")


def test_bad_input_is_counted_never_raised(tmp_path):
    write(tmp_path, 'ada', rec(), raw=b'{"format": "ckpt-lab-progress/1", "learner": "ad')
    write(tmp_path, 'bob', rec(learner='bob'), raw=b'not json at all\n' + b'[' * 50_000 + b'\n'
          + b'\xff\xfe\n' + b'{"format": "ckpt-lab-progress/1", "time": true}\n')
    write(tmp_path, 'cy', rec(learner='cy', exercise='exercise_99'), rec(learner='cy'))
    write(tmp_path, 'dan', rec(learner='mallory'), rec(learner='dan'))
    (tmp_path / 'grades.jsonl').write_text('name,score\nada,3\n')  # another format
    (tmp_path / 'other.jsonl').write_text(json.dumps({'event': 'login'}) + '\n')
    (tmp_path / 'notes.txt').write_text('bring coffee')
    (tmp_path / 'folder.jsonl').mkdir()
    (tmp_path / 'empty.jsonl').write_bytes(b'')
    (tmp_path / '.ipynb_checkpoints').mkdir()
    (tmp_path / 'loop.jsonl').symlink_to(tmp_path / 'loop.jsonl')
    m = parse_board(tmp_path, now=NOW)
    assert [r.name for r in m.learners] == ['ada', 'bob', 'cy', 'dan']
    assert m.records == 4
    assert dict(m.skipped_lines) == {'truncated last line': 1, 'not JSON': 3,
                                     'not a progress record': 1, 'unknown exercise': 1,
                                     "another learner's name": 1}
    assert dict(m.skipped_files) == {'not a progress file': 5}
    assert board_text(m).splitlines()[-1] == (
        'skipped: 7 lines (1 another learner\'s name, 3 not JSON, 1 not a progress record, '
        '1 truncated last line, 1 unknown exercise); 5 files (5 not a progress file)')


def test_a_folder_that_is_missing_or_a_file_says_so(tmp_path):
    missing = parse_board(tmp_path / 'nowhere', now=NOW)
    assert board_text(missing) == ('Class board nowhere: does not exist yet (no check has been '
                                   'recorded)')
    (tmp_path / 'file').write_text('x')
    assert parse_board(tmp_path / 'file', now=NOW).problem == 'is not a folder'
    assert 'class-board' in board_html(missing)


def test_a_huge_file_is_skipped_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, 'MAX_FILE', 1000)
    write(tmp_path, 'ada', *[rec() for _ in range(20)])
    write(tmp_path, 'bob', rec(learner='bob'))
    m = parse_board(tmp_path, now=NOW)
    assert [r.name for r in m.learners] == ['bob'] and dict(m.skipped_files) == {
        'larger than 0 MiB': 1}


def test_html_escapes_names_and_hints(tmp_path):
    write(tmp_path, '<img src=x>', rec(learner='<img src=x>', key='', hint='<script>alert(1)</script>'))
    html = board_html(parse_board(tmp_path, now=NOW))
    assert '<script>' not in html and '<img' not in html
    assert '&lt;script&gt;' in html and '&lt;img src=x&gt;' in html


def test_500_learners_times_50_records_with_damage_never_raise(tmp_path):
    exercises = [key for key, _ in board.EXERCISES] + ['exercise_6']
    statuses = ['failed', 'failed', 'passed', 'not attempted']
    keys = ['keep-period', 'step-prefix', 'relative-path', 'no-such-key']
    for i in range(500):
        name = f'learner{i:03d}'
        records = [{'learner': name, 'exercise': exercises[(i + n) % len(exercises)],
                    'status': statuses[(i * n) % 4], 'hint': f'hint {n % 7}',
                    'hint_key': keys[(i + n) % 4], 'time': NOW - 60 * (i % 30) - n}
                   for n in range(50)]
        write(tmp_path, name, *records, raw=b'{"cut' if i % 50 == 0 else b'')
    m = parse_board(tmp_path, now=NOW)
    assert len(m.learners) == 500
    unknown = dict(m.skipped_lines)['unknown exercise']
    assert m.records + unknown == 500 * 50 and dict(m.skipped_lines)['truncated last line'] == 10
    text = board_text(m)
    assert len(text.splitlines()) > 500 and board_html(m).count('<tr') == 501


def test_the_view_refreshes_and_follows_the_folder(tmp_path):
    view = ClassBoard(tmp_path, now=NOW)
    assert view.model.learners == () and view.widget.value == view.html
    write(tmp_path, 'ada', rec())
    view.refresh()
    assert [r.name for r in view.model.learners] == ['ada'] and 'ada' in view.widget.value
    seen = []
    with view.follow(every=0.05):
        write(tmp_path, 'bob', rec(learner='bob'))
        deadline = time.monotonic() + 10
        while 'bob' not in view.widget.value and time.monotonic() < deadline:
            time.sleep(0.02)
        seen.append(view.widget.value)
    assert 'bob' in seen[0] and view.error is None
    bundle = view._repr_mimebundle_()
    assert bundle['text/plain'] == view.text == repr(view)
    assert bundle['text/html'] == view.html and 'application/vnd.jupyter.widget-view+json' in bundle


def test_the_view_reads_the_folder_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(progress.ENV_FOLDER, raising=False)
    with pytest.raises(ValueError, match='CKPT_LAB_PROGRESS'):
        ClassBoard()
    monkeypatch.setenv(progress.ENV_FOLDER, str(tmp_path))
    assert ClassBoard(now=NOW, idle_minutes=5).folder == tmp_path


def test_idle_learners_appear_as_time_passes(tmp_path):
    write(tmp_path, 'ada', rec(minutes_ago=0))
    assert parse_board(tmp_path, now=NOW).idle == ()
    later = parse_board(tmp_path, now=NOW + 11 * 60, idle_minutes=10)
    assert later.idle == ('ada',) and later.learners[0].idle_minutes == 11


def test_reading_never_changes_the_folder(sample):
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sample.iterdir()}
    ClassBoard(sample, now=NOW).refresh()
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sample.iterdir()} == before
    assert sorted(os.listdir(sample)) == sorted(p.name for p in before)


def test_the_view_rereads_a_file_that_grew(tmp_path):
    write(tmp_path, 'ada', rec())
    view = ClassBoard(tmp_path, now=NOW)
    assert view.model.learners[0].cells[0].text == '✗ 1'
    write(tmp_path, 'ada', rec(status='passed'))
    assert view.refresh().model.learners[0].cells[0].text == '✓ 2'


def test_the_benchmark_builds_the_room_it_times(tmp_path):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'benchmarks'))
    import bench_board

    bench_board.make_room(tmp_path, learners=3, records=7)
    m = parse_board(tmp_path, now=NOW)
    assert len(m.learners) == 3 and m.records == 21 and m.skipped_lines == ()
    results = {'load_average': [1.0], 'board': {
        'learners': 3, 'records_each': 7, 'bytes': 100,
        **{k: {'median_ms': 1.0, 'min_ms': 1.0, 'max_ms': 2.0, 'repeat': 3}
           for k in ('parse', 'text', 'html', 'cold_refresh', 'refresh')}}}
    assert 'target < 200 ms ✓' in bench_board.markdown(results)

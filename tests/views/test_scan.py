"""DirectoryTree's scan and text/HTML rendering, on directories Orbax and Flax really wrote."""

import os
from pathlib import Path

import pytest

import ckpt_widgets as cw
from ckpt_widgets import render, scan
from tests.helpers import tree_state


def lines(view) -> list[str]:
    return view.text.splitlines()


def test_orbax_manager_steps_items_and_collapsed_data(written):
    text = cw.DirectoryTree(written / 'orbax').text
    assert text.splitlines()[:6] == [
        'orbax/',
        '├── 0/  [step; items: default]',
        '├── 2/  [step; items: default]',
        '├── 3/  [step; items: default]',
        '├── 4/  [step; items: default]',
        '└── 5/  [step]',
    ]
    assert '    └── default/  [item]' in text
    assert 'd/  [OCDBT data; random file names, not listed]' in text
    assert 'ocdbt.process_0/  [process 0 data]' in text
    assert '_strings.json  15 B  [string leaves]' in text
    # volatile files carry no size: their bytes change from run to run
    assert 'commit_success.txt  [commit marker]' in text
    assert '_CHECKPOINT_METADATA  [step metadata]' in text


def test_expand_all_lists_every_step(written):
    text = cw.DirectoryTree(written / 'orbax', expand='all').text
    assert text.count('default/  [item]') == 5


def test_v1_checkpointer_and_flax_layouts(written):
    v1 = cw.DirectoryTree(written / 'v1').text
    assert v1.splitlines()[1] == '├── 0/  [step; items: state]'
    flax_orbax = cw.DirectoryTree(written / 'flax_orbax').text
    assert flax_orbax.splitlines()[1:3] == ['├── checkpoint_1/  [step; pytree]',
                                            '└── checkpoint_2/  [step]']
    msgpack = cw.DirectoryTree(written / 'flax_msgpack').text.splitlines()
    assert [line.split('  ')[0] for line in msgpack[1:]] == [
        '├── checkpoint_0', '├── checkpoint_100', '└── checkpoint_200']
    assert all(line.endswith('[flax msgpack step]') for line in msgpack[1:])


def test_steps_sort_numerically_not_alphabetically(tmp_path):
    for step in (10, 9, 100, 1):
        (tmp_path / str(step)).mkdir()
    names = [e.name for e in scan.scan_directory(tmp_path, expand='none').root.children]
    assert names == ['1', '9', '10', '100']


def test_unfinished_save_is_marked_and_expanded(tmp_path):
    (tmp_path / '3').mkdir()
    tmp = tmp_path / '4.orbax-checkpoint-tmp-1732900000'
    (tmp / 'default').mkdir(parents=True)
    text = cw.DirectoryTree(tmp_path).text
    assert '4.orbax-checkpoint-tmp-1732900000/  [unfinished step; save not committed]' in text
    assert 'default/  [item]' in text


@pytest.mark.parametrize('make, message', [
    (lambda p: p / 'missing', 'missing: does not exist'),
    (lambda p: (p / 'file.txt').write_text('x') and p / 'file.txt', 'file.txt: is a file, not a directory'),
])
def test_bad_paths_say_what_is_wrong(tmp_path, make, message):
    view = cw.DirectoryTree(make(tmp_path))
    assert view.text == message
    assert render.escape(message) in view.html


def test_empty_directory(tmp_path):
    assert cw.DirectoryTree(tmp_path).text == f'{tmp_path.name}/  (empty)'


def test_symlink_loop_is_shown_not_followed(tmp_path):
    (tmp_path / 'a').mkdir()
    os.symlink(tmp_path, tmp_path / 'a' / 'loop')
    os.symlink(tmp_path / 'nowhere', tmp_path / 'dangling')
    text = cw.DirectoryTree(tmp_path).text
    assert f'loop  [symlink to {tmp_path}]' in text
    assert 'dangling  [symlink to' in text


def test_unreadable_folder_becomes_an_entry_with_the_reason(tmp_path, monkeypatch):
    (tmp_path / 'secret').mkdir()
    real_scandir = os.scandir

    def scandir(path='.'):
        if Path(path).name == 'secret':
            raise PermissionError(13, 'Permission denied')
        return real_scandir(path)

    monkeypatch.setattr(scan.os, 'scandir', scandir)
    assert 'secret  [cannot be read: Permission denied]' in cw.DirectoryTree(tmp_path).text


def test_html_and_script_in_file_names_are_escaped(tmp_path):
    (tmp_path / '<script>alert(1)<\\script>').write_text('x')
    (tmp_path / '<img src=x onerror=alert(1)>').write_text('x')
    (tmp_path / 'a&b"c').mkdir()
    view = cw.DirectoryTree(tmp_path)
    assert '<script>' not in view.html and '<img' not in view.html
    assert '&lt;script&gt;alert(1)&lt;\\script&gt;' in view.html
    assert '&lt;img src=x onerror=alert(1)&gt;' in view.html
    assert 'a&amp;b&quot;c/' in view.html
    assert '<img src=x onerror=alert(1)>' in view.text  # plain text shows the real name


def test_huge_folder_is_capped_with_a_count(tmp_path):
    folder = tmp_path / 'many'
    folder.mkdir()
    for i in range(100_000):
        os.close(os.open(folder / f'f{i:06d}', os.O_CREAT | os.O_WRONLY))
    view = cw.DirectoryTree(tmp_path, limit=10)
    body = view.text.splitlines()
    assert len(body) == 1 + 1 + 11  # root, many/, 10 entries and the "more" line
    assert '    ├── … 99990 more' in body


def test_views_never_write(written):
    before = tree_state(written)
    cw.DirectoryTree(written, expand='all').refresh()
    for name in ('orbax', 'v1', 'flax_orbax', 'flax_msgpack'):
        cw.RetainedSteps(written / name).refresh()
        cw.Dashboard(written / name).select(cw.RetainedSteps(written / name).kept[-1])
    assert tree_state(written) == before


def test_expand_none_keeps_unfinished_steps_to_one_line(tmp_path):
    (tmp_path / '3' / 'default').mkdir(parents=True)
    (tmp_path / '4.orbax-checkpoint-tmp' / 'default').mkdir(parents=True)
    assert cw.DirectoryTree(tmp_path, expand='none').text.splitlines()[1:] == [
        '├── 3/  [step; items: default]',
        '└── 4.orbax-checkpoint-tmp/  [unfinished step; save not committed]',
    ]

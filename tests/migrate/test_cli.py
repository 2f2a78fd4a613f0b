"""`ckpt-lab`: subcommands, one-line errors with exit 2, migrate-code's exit codes and --write."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import orbax.checkpoint as ocp
import pytest
from flax.training import checkpoints

from ckpt_widgets.migrate import cli
from ckpt_widgets.migrate.code import migrate_paths

FIXTURES = Path(__file__).parent / 'fixtures'


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize('argv', [
    [], ['bogus'], ['tree'], ['steps'], ['inspect', '/x', '--step', 'two'], ['migrate-code'],
    ['migrate-code', '--nope', 'x.py'], ['tree', '/no/such/dir'], ['steps', '/no/such/dir'],
    ['inspect', '/no/such/dir'], ['migrate-code', '/no/such/file.py'], ['convert'],
    ['convert', 'only-src'], ['convert', 'a', 'b', '--nope'],
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv):
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ''
    assert len(err.strip().splitlines()) == 1 and err.startswith('ckpt-lab')


@pytest.mark.parametrize('command', ['migrate-code', 'convert', 'tree', 'steps', 'inspect'])
def test_help_fits_one_screen(capsys, command):
    code, out, _ = _run(capsys, command, '--help')
    assert code == 0
    assert len(out.splitlines()) <= 40 and 'usage: ckpt-lab ' + command in out


def _project(tmp_path):
    project = tmp_path / 'project'
    project.mkdir()
    for name in ('save_async', 'pattern_partial', 'pattern_same_name'):
        shutil.copy(FIXTURES / f'{name}.before.py', project / f'{name}.py')
    return project


def test_migrate_code_changes_nothing_without_write(capsys, tmp_path):
    project = _project(tmp_path)
    before = {p.name: p.read_bytes() for p in project.iterdir()}
    code, out, _ = _run(capsys, 'migrate-code', str(project))
    assert code == 1  # pattern_partial is flagged
    assert {p.name: p.read_bytes() for p in project.iterdir()} == before
    assert '+++ ' in out and 'save_async.py:12: checkpoints.save_checkpoint -> rewritten' in out
    assert '3 files, 2 changed, 0 not parsed' in out


def test_migrate_code_write_applies_and_second_run_has_nothing_to_do(capsys, tmp_path):
    project = _project(tmp_path)
    (project / 'pattern_partial.py').unlink()
    code, out, _ = _run(capsys, 'migrate-code', '--write', str(project))
    assert code == 0 and 'written: 1 files' in out
    assert (project / 'save_async.py').read_text() == (FIXTURES / 'save_async.after.py').read_text()
    code, out, _ = _run(capsys, 'migrate-code', str(project))
    assert code == 0 and '+++' not in out and '0 changed' in out


def test_a_file_that_does_not_parse_is_named_and_the_others_processed(capsys, tmp_path):
    project = _project(tmp_path)
    (project / 'broken.py').write_text('def broken(:\n    pass\n')
    code, out, _ = _run(capsys, 'migrate-code', '--no-diff', str(project))
    assert code == 2
    assert 'broken.py: error: does not parse' in out
    assert 'save_async.py:12: checkpoints.save_checkpoint -> rewritten' in out


def test_notebooks_are_migrated_cell_by_cell(tmp_path):
    cells = ['import numpy as np\nfrom flax.training import checkpoints',
             '%matplotlib inline\nstate = {"w": np.ones(3)}',
             'checkpoints.save_checkpoint("/ckpts", state, 1, keep=2)',
             'restored = checkpoints.restore_checkpoint("/ckpts", state)']
    nb = {'cells': [{'cell_type': 'markdown', 'metadata': {}, 'source': ['# Title']}] + [
        {'cell_type': 'code', 'execution_count': None, 'metadata': {}, 'outputs': [],
         'source': c.splitlines(keepends=True)} for c in cells],
        'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    path = tmp_path / 'train.ipynb'
    path.write_text(json.dumps(nb, indent=1) + '\n')
    report = migrate_paths([str(path)], write=True)
    assert report.exit_code == 0 and report.count('rewritten') == 2
    new = json.loads(path.read_text())
    sources = [''.join(c['source']) for c in new['cells']]
    assert sources[0] == '# Title'
    assert sources[1] == 'import numpy as np\nimport orbax.checkpoint as ocp'
    assert 'flax.training' not in sources[1]
    assert sources[2] == cells[1]  # the magic is back, untouched
    assert sources[3].startswith('with ocp.CheckpointManager("/ckpts"')
    assert 'mngr_2.restore(' in sources[4]
    assert [(f.path[-6:], f.line) for f in report.findings] == [('cell 4', 1), ('cell 5', 1)]
    assert migrate_paths([str(path)]).files[0].changed is False


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp('cli')
    tree = {'w': np.arange(6, dtype=np.float32).reshape(2, 3), 'name': 'x'}
    with ocp.CheckpointManager(root / 'orbax', options=ocp.CheckpointManagerOptions(
            preservation_policy=ocp.checkpoint_managers.LatestN(2))) as mngr:
        for step in range(3):
            mngr.save(step, args=ocp.args.PyTreeSave(tree))
    from ckpt_widgets.runtime import flax_msgpack_writer
    with flax_msgpack_writer():
        checkpoints.save_checkpoint(root / 'msgpack', {'w': np.ones(4)}, 7)
    return root


def test_tree_prints_the_view_text_and_json(capsys, folders):
    from ckpt_widgets import render, scan
    code, out, _ = _run(capsys, 'tree', str(folders / 'orbax'))
    assert code == 0
    assert out == render.directory_text(scan.scan_directory(folders / 'orbax')) + '\n'
    code, out, _ = _run(capsys, 'tree', '--json', str(folders / 'orbax'))
    assert json.loads(out)['label'] == 'orbax'


def test_steps_prints_the_view_text_and_json(capsys, folders):
    code, out, _ = _run(capsys, 'steps', str(folders / 'orbax'))
    assert code == 0 and 'kept' in out
    code, out, _ = _run(capsys, 'steps', '--json', str(folders / 'orbax'))
    steps = json.loads(out)['steps']
    assert [(s['step'], s['status']) for s in steps] == [(1, 'kept'), (2, 'kept')]


def test_inspect_reads_metadata_only(capsys, folders, monkeypatch):
    # No array data may be read: make every tensorstore read fail loudly.
    import orbax.checkpoint as ocp_module
    monkeypatch.setattr(ocp_module.PyTreeCheckpointer, 'restore',
                        lambda *a, **k: pytest.fail('inspect restored data'))
    code, out, _ = _run(capsys, 'inspect', '--json', str(folders / 'orbax'), '--step', '1')
    assert code == 0
    leaves = {leaf['path']: leaf for leaf in json.loads(out)['leaves']}
    assert leaves["['w']"]['shape'] == [2, 3] and leaves["['w']"]['dtype'] == 'float32'
    assert "['name']" in leaves
    code, out, _ = _run(capsys, 'inspect', str(folders / 'orbax'))
    assert code == 0 and "['w']" in out
    code, out, _ = _run(capsys, 'inspect', str(folders / 'orbax'), '--step', '0')
    assert code == 2  # deleted by LatestN(2)


def test_inspect_reads_legacy_msgpack_steps(capsys, folders):
    code, out, _ = _run(capsys, 'inspect', '--json', str(folders / 'msgpack'))
    assert code == 0
    summary = json.loads(out)
    assert summary['label'] == 'checkpoint_7 (msgpack)'
    assert summary['leaves'][0]['shape'] == [4]


def test_installed_script_and_python_dash_m_agree(tmp_path):
    script = Path(sys.executable).parent / 'ckpt-lab'
    empty = tmp_path / 'empty'
    empty.mkdir()
    by_script = subprocess.run([str(script), 'steps', str(empty)], capture_output=True, text=True, check=False)
    by_module = subprocess.run([sys.executable, '-m', 'ckpt_widgets', 'steps', str(empty)],
                               capture_output=True, text=True, check=False)
    assert by_script.returncode == by_module.returncode == 0
    assert by_script.stdout == by_module.stdout != ''
    alias = subprocess.run([str(Path(sys.executable).parent / 'ckpt-convert'), '--help'],
                           capture_output=True, text=True, check=False)
    assert alias.returncode == 0 and 'SRC' in alias.stdout


def test_worker_processes_give_the_same_report_and_files(tmp_path):
    from ckpt_widgets.migrate.code import files
    project = tmp_path / 'many'
    project.mkdir()
    names = sorted(p.name for p in FIXTURES.glob('*.before.py'))
    for name in names:
        shutil.copy(FIXTURES / name, project / name.replace('.before', ''))
    assert len(names) >= files.PARALLEL_FROM
    serial = migrate_paths([str(project)], jobs=1)
    parallel = migrate_paths([str(project)], jobs=2)
    assert parallel == serial
    assert [r.after for r in parallel.files] == [r.after for r in serial.files]


@pytest.mark.parametrize('argv', [['convert', '--help'], ['convert', 'only-src']])
def test_convert_help_and_bad_arguments_answer_before_jax_loads(argv):
    code = ('import sys; from ckpt_widgets.migrate import cli; status = cli.main(%r); '
            'print(status, "jax" in sys.modules)' % (argv,))
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] in ('0 False', '2 False')

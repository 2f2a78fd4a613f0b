"""`make test-colab`: notebooks 00, 01 and 11 run the way Colab runs them.

A fresh Python 3.12 runtime with an older JAX stack and `google.colab` (colab_venv.py), the
notebooks copied alone into a folder outside the repository (Colab opens them from GitHub),
the install cell pointed at the wheel built here instead of the repository URL (the only change
to any cell), executed with nbclient. The install cell must bring the pinned stack, no cell may
fail, and `cw.version_table()` must show every pin matched.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.colab.colab_venv import OLD_STACK, clean_env, find_python312, installed, make_runtime
from tests.pins import pyproject_pins

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ['00_setup', '01_training_loop', '11_workshop_exercises']
INSTALL = re.compile(r'"orbax-migration-lab @ git\+[^"]*"')
KERNEL = 'colab-standin-312'


@pytest.fixture
def runtime(tmp_path_factory, dist):
    """(venv, kernels folder, wheel) of a fresh Colab stand-in: each notebook opens in its own."""
    where = tmp_path_factory.mktemp('colab')
    venv = make_runtime(where)
    old = installed(venv, 'jax', 'flax', 'orbax-checkpoint')
    assert old == {r.split('==')[0]: r.split('==')[1] for r in OLD_STACK if r.split('==')[0] in old}
    kernels = where / 'jupyter' / 'kernels' / KERNEL
    kernels.mkdir(parents=True)
    env = {k: v for k, v in clean_env().items() if k in ('PATH', 'HOME', 'LANG', 'TMPDIR')}
    env['PYTHONNOUSERSITE'] = '1'
    (kernels / 'kernel.json').write_text(json.dumps({
        'argv': [str(venv / 'bin' / 'python'), '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
        'display_name': 'Colab stand-in (Python 3.12)', 'language': 'python', 'env': env}))
    wheel, _ = dist
    local_wheel = where / wheel.name  # outside the repository, like a download
    shutil.copy(wheel, local_wheel)
    return venv, where / 'jupyter', local_wheel


def pointed_at_wheel(nb, wheel: Path) -> int:
    """Point the Colab install cell at the wheel; returns how many cells changed."""
    changed = 0
    for cell in nb.cells:
        if cell.cell_type == 'code' and INSTALL.search(cell.source):
            cell.source = INSTALL.sub(f'"{wheel}"', cell.source)
            changed += 1
    return changed


def run(nb, folder: Path, jupyter_path: Path, monkeypatch) -> bool:
    """Run the notebook as a user does; True when the install cell asked for a restart.

    The install cell first; if its output asks for a restart, a new kernel (what Colab's
    "Restart session" gives) runs every other cell; otherwise the same kernel goes on.
    """
    monkeypatch.setenv('JUPYTER_PATH', str(jupyter_path))
    for name in ('PYTHONPATH', 'VIRTUAL_ENV'):
        monkeypatch.delenv(name, raising=False)

    def client():
        return NotebookClient(nb, kernel_name=KERNEL, timeout=900, allow_errors=False,
                              resources={'metadata': {'path': str(folder)}})

    install = next(i for i, c in enumerate(nb.cells) if c.cell_type == 'code')
    first = client()
    with first.setup_kernel():
        for index in range(install + 1):
            first.execute_cell(nb.cells[index], index)
        # The notebook's own notice (pip's generic "you may need to restart" note is always there).
        restart = 'Restart the runtime' in text_of(nb.cells[install])
        if not restart:
            for index in range(install + 1, len(nb.cells)):
                first.execute_cell(nb.cells[index], index)
    if restart:
        second = client()
        with second.setup_kernel():
            for index in range(len(nb.cells)):
                if index != install:
                    second.execute_cell(nb.cells[index], index)
    return restart


def text_of(cell) -> str:
    return ''.join(o.get('text', '') + ''.join(o.get('data', {}).get('text/plain', ''))
                   for o in cell.get('outputs', []))


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_notebook_runs_as_in_colab(name, runtime, tmp_path, monkeypatch):
    venv, jupyter_path, wheel = runtime
    folder = tmp_path / 'content'  # Colab's /content: the notebook alone, no repository
    folder.mkdir()
    shutil.copy(ROOT / 'notebooks' / f'{name}.ipynb', folder)
    nb = nbformat.read(folder / f'{name}.ipynb', as_version=4)
    assert pointed_at_wheel(nb, wheel) == 1, 'exactly one Colab install cell'
    code = [c for c in nb.cells if c.cell_type == 'code']
    assert str(wheel) in code[0].source, 'the install cell is the first code cell'
    for cell in code:
        cell.outputs = []

    restarted = run(nb, folder, jupyter_path, monkeypatch)
    # The stand-in has an old numpy in memory before the install, as Colab would: the install
    # cell must notice and ask for the restart the second kernel then gives.
    assert restarted, f'no restart notice after the install: {text_of(code[0])!r}'
    assert 'numpy' in text_of(code[0]), text_of(code[0])

    pins = pyproject_pins('dependencies')
    assert installed(venv, *pins) == pins, 'the install cell did not bring the pinned stack'
    where = installed_from(venv)
    assert str(venv) in where and str(ROOT) not in where, where
    tables = [text_of(c) for c in nb.cells if 'cw.version_table()' in c.source]
    if name == '00_setup':
        assert tables, '00 shows the version table'
    for table in tables:
        for package, version in pins.items():
            if package in ('jax', 'jaxlib', 'flax', 'orbax-checkpoint'):
                assert re.search(rf'^{re.escape(package)}\s+{re.escape(version)}\s+{re.escape(version)}\s+yes$',
                                 table, re.MULTILINE), table
        assert 'NO' not in table.split(), table
        assert 'python  3.12' in table


def installed_from(venv: Path) -> str:
    import subprocess
    done = subprocess.run([str(venv / 'bin' / 'python'), '-c', 'import ckpt_widgets; print(ckpt_widgets.__file__)'],
                          capture_output=True, text=True, check=True, env=clean_env(), cwd=venv)
    return done.stdout.strip()


def test_a_missing_python312_is_named_with_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv('PYTHON312', str(tmp_path / 'no-such-python'))
    monkeypatch.setenv('PATH', str(tmp_path))
    monkeypatch.setenv('HOME', str(tmp_path))
    with pytest.raises(RuntimeError, match=r'needs Python 3\.12 .* PYTHON312='):
        find_python312()

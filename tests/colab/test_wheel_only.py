"""The wheel alone (no repository) holds every module and data file the notebooks need."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = 'ckpt_widgets'


def notebook_imports() -> set[str]:
    """Every ckpt_widgets module a notebook's code cells import (`import x`, `from x import y`)."""
    found = set()
    for path in sorted((ROOT / 'notebooks').glob('*.ipynb')):
        for cell in json.loads(path.read_text())['cells']:
            if cell['cell_type'] != 'code':
                continue
            # IPython magics (%pip, !ls) are not Python: keep their indentation, drop the rest.
            code = '\n'.join(line[:len(line) - len(line.lstrip())] + 'pass'
                             if line.lstrip().startswith(('%', '!')) else line
                             for line in ''.join(cell['source']).splitlines())
            for node in ast.walk(ast.parse(code)):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
                found.update(n for n in names if n.split('.')[0] == PACKAGE)
    return found


def package_files() -> set[str]:
    """Every file of the package in the repository (modules and data), as wheel paths."""
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / PACKAGE).rglob('*')
            if p.is_file() and '__pycache__' not in p.parts and p.suffix not in ('.pyc', '.pyo')}


def test_the_notebooks_import_the_package():
    assert f'{PACKAGE}' in notebook_imports()


def test_wheel_holds_every_module_and_data_file(dist):
    wheel, _ = dist
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(package_files() - in_wheel)
    assert not missing, f'missing from {wheel.name} (setuptools packages/package-data): {missing}'


def test_sdist_holds_every_module_and_data_file(dist):
    import tarfile
    _, sdist = dist
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split('/')[0]
        in_sdist = {n.removeprefix(top + '/') for n in tar.getnames()}
    missing = sorted(package_files() - in_sdist)
    assert not missing, f'missing from {sdist.name}: {missing}'


def test_every_module_the_notebooks_import_loads_from_the_wheel_alone(dist, tmp_path):
    wheel, _ = dist
    unpacked = tmp_path / 'site'
    zipfile.ZipFile(wheel).extractall(unpacked)
    modules = sorted(notebook_imports())
    # -I: no user site, no PYTHONPATH, no current folder; the unpacked wheel goes first on the path.
    probe = (f'import sys; sys.path.insert(0, {str(unpacked)!r}); import importlib\n'
             f'missing = []\n'
             f'for m in {modules!r}:\n'
             f'    try:\n'
             f'        mod = importlib.import_module(m)\n'
             f'        assert mod.__file__.startswith({str(unpacked)!r}), mod.__file__\n'
             f'    except ModuleNotFoundError as e:\n'
             f'        missing.append(f"{{m}}: {{e}}")\n'
             f'print("\\n".join(missing))')
    done = subprocess.run([sys.executable, '-I', '-c', probe], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == '', f'missing when installed from the wheel alone:\n{done.stdout}'

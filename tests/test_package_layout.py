"""The package's shape, read from its code: data flows one way, and the face is lazy."""

import ast
import subprocess
import sys
from pathlib import Path

import ckpt_widgets

PACKAGE = Path(ckpt_widgets.__file__).resolve().parent
ROOMS = ('migrate', 'lab', 'workshop')


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a top-level module of the package."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ''
            else:  # relative to the package: `from . import x`, `from .x import y`
                base = 'ckpt_widgets' + (f'.{node.module}' if node.module else '')
            found.append((node.lineno, base))
            found += [(node.lineno, f'{base}.{alias.name}') for alias in node.names]
    return found


def room_imports_of_top_level() -> list[str]:
    """Every import by which a top-level module reaches into a room, as 'file:line: module'."""
    offending = []
    for path in sorted(PACKAGE.glob('*.py')):
        for line, module in _imported_modules(path):
            parts = module.split('.')
            if len(parts) > 1 and parts[0] == 'ckpt_widgets' and parts[1] in ROOMS:
                offending.append(f'ckpt_widgets/{path.name}:{line}: imports {module}')
    return offending


def test_the_top_level_never_imports_a_room():
    assert room_imports_of_top_level() == []


def test_the_check_names_an_offending_import(tmp_path, monkeypatch):
    (tmp_path / 'views.py').write_text(
        'import os\nfrom .lab import costs\nfrom ckpt_widgets.migrate.convert import main\n')
    monkeypatch.setattr(sys.modules[__name__], 'PACKAGE', tmp_path)
    assert room_imports_of_top_level() == [
        'ckpt_widgets/views.py:2: imports ckpt_widgets.lab',
        'ckpt_widgets/views.py:2: imports ckpt_widgets.lab.costs',
        'ckpt_widgets/views.py:3: imports ckpt_widgets.migrate.convert',
        'ckpt_widgets/views.py:3: imports ckpt_widgets.migrate.convert.main',
    ]


def test_every_room_opens_with_a_docstring_saying_what_it_may_import():
    for room in ROOMS:
        doc = ast.get_docstring(ast.parse((PACKAGE / room / '__init__.py').read_text()))
        assert doc and 'may import' in doc.lower(), f'ckpt_widgets/{room}/__init__.py'


def test_import_is_lazy():
    heavy = ('jax', 'orbax', 'ipywidgets', 'tensorstore', 'flax')
    code = ('import sys, ckpt_widgets; '
            f'print(sorted(m for m in {heavy!r} if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]'


def test_every_public_name_resolves():
    for name in ckpt_widgets.__all__:
        assert getattr(ckpt_widgets, name) is not None, name

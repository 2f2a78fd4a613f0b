"""pyproject.toml's pins, read in one place, and whether this environment has them.

`tests/conftest.py` asks `missing_pins()` before anything else, so a `.venv` older than the
pins (a pull that added a dependency) stops `pytest` with one line saying `make setup`
instead of a screen of import errors. Stdlib only: it must run where the pins are missing.

>>> pins(['jax==0.10.2', 'Orbax_Checkpoint==0.12.8'])
{'jax': '0.10.2', 'orbax-checkpoint': '0.12.8'}
>>> 'orbax-checkpoint' in pyproject_pins('dependencies')
True
"""

import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r'^([A-Za-z0-9_.-]+)==(\S+)$')


def normalize(name: str) -> str:
    """A distribution name as pip compares it (PEP 503)."""
    return re.sub(r'[-_.]+', '-', name).lower()


def pins(requirements) -> dict[str, str]:
    """{normalized name: version} of `name==version` lines; anything else is an error."""
    found = {}
    for req in requirements:
        m = PIN.match(req.strip())
        assert m, f'not an exact pin: {req!r} (every dependency is pinned with ==)'
        found[normalize(m.group(1))] = m.group(2)
    return found


def pyproject_pins(*groups: str) -> dict[str, str]:
    """The pins of `groups` ('dependencies' or an extra's name); every group when none is named."""
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    sections = {'dependencies': project['dependencies'], **project['optional-dependencies']}
    return pins(req for group in (groups or sections) for req in sections[group])


def missing_pins(*groups: str) -> list[str]:
    """`name==version (installed: ...)` for each pin of `groups` this environment does not have."""
    missing = []
    for name, version in sorted(pyproject_pins(*groups).items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = 'none'
        if installed != version:
            missing.append(f'{name}=={version} (installed: {installed})')
    return missing

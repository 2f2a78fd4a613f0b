"""One source of truth for the pins: pyproject.toml. The mirrors must agree with it."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r'^([A-Za-z0-9_.-]+)==(\S+)$')


def normalize(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def pins(requirements) -> dict[str, str]:
    found = {}
    for req in requirements:
        m = PIN.match(req.strip())
        assert m, f'not an exact pin: {req!r} (every dependency is pinned with ==)'
        found[normalize(m.group(1))] = m.group(2)
    return found


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    reqs = list(project['dependencies'])
    for extra in project['optional-dependencies'].values():
        reqs += extra
    return pins(reqs)


def test_pyproject_pins_the_stack_named_in_the_issue():
    p = pyproject_pins()
    expected = {'jax': '0.10.2', 'jaxlib': '0.10.2', 'flax': '0.12.8',
                'orbax-checkpoint': '0.12.8', 'ipywidgets': '8.1.9', 'jupytext': '1.19.6',
                'nbval': '0.11.0', 'jupyterlab': '4.6.6'}
    assert {k: p.get(k) for k in expected} == expected


def test_environment_yml_mirrors_pyproject():
    env = yaml.safe_load((ROOT / 'environment.yml').read_text())
    pip_section = next(d['pip'] for d in env['dependencies'] if isinstance(d, dict))
    mirrored = pins(r for r in pip_section if not r.startswith('-e'))
    assert mirrored == pyproject_pins(), (
        'environment.yml and pyproject.toml disagree; copy the pins from pyproject.toml')


def test_lock_file_agrees_with_pyproject():
    lock = pins(line for line in (ROOT / 'requirements.lock').read_text().splitlines()
                if line.strip() and not line.startswith('#'))
    mismatched = {k: (v, lock.get(k)) for k, v in pyproject_pins().items() if lock.get(k) != v}
    assert not mismatched, f'requirements.lock disagrees (pyproject, lock): {mismatched}; run make lock'

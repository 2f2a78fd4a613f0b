"""One source of truth for the pins: pyproject.toml. The mirrors must agree with it."""

from pathlib import Path

import yaml

import tests.pins as pins_module
from tests.pins import missing_pins, pins, pyproject_pins

ROOT = Path(__file__).resolve().parents[2]


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


def test_this_environment_has_the_pins_that_pytest_checks_first():
    assert missing_pins('dependencies', 'test') == []


def test_a_missing_or_other_version_is_named_with_what_is_installed(monkeypatch):
    import jax
    monkeypatch.setattr(pins_module, 'pyproject_pins',
                        lambda *groups: {'jax': '0.0.1', 'no-such-dist-for-this-test': '1.0'})
    assert missing_pins() == [f'jax==0.0.1 (installed: {jax.__version__})',
                              'no-such-dist-for-this-test==1.0 (installed: none)']

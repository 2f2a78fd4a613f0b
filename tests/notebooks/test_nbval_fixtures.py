"""The notebook check can fail: tiny fixture notebooks run under the same nbval options as
`make test-notebooks`, and each must pass or fail as its name says (as nbval's own tests do)."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / 'tests' / 'fixtures' / 'nbval'
NBVAL = ['--nbval', '--nbval-current-env', '--nbval-sanitize-with',
         str(ROOT / 'tests' / 'nbval_sanitize.cfg')]


@pytest.fixture(scope='module')
def outcomes(tmp_path_factory) -> dict[str, str]:
    """{fixture name: 'passed' | failure text}, from one nbval run over all fixtures."""
    report = tmp_path_factory.mktemp('nbval') / 'report.xml'
    subprocess.run([sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', *NBVAL,
                    f'--junitxml={report}', str(FIXTURES)], capture_output=True, text=True,
                   timeout=180, cwd=ROOT)
    found = {}
    for case in ET.parse(report).iter('testcase'):
        # classname looks like 'tests.fixtures.nbval.fail-cell-error.ipynb'
        name = case.get('classname').removesuffix('.ipynb').rsplit('.', 1)[-1]
        failure = case.find('failure')
        if failure is None:
            failure = case.find('error')
        found[name] = 'passed' if failure is None else (failure.get('message', '') + failure.text)
    return found


@pytest.mark.parametrize('name, evidence', [
    ('pass-right-output', 'passed'),
    ('pass-sanitized-workdir', 'passed'),
    ('fail-changed-output', 'Notebook cell execution failed'),
    ('fail-cell-error', 'a cell that fails'),
])
def test_fixture_notebook_outcome(outcomes, name, evidence):
    assert name in outcomes, f'nbval did not run {name}: {sorted(outcomes)}'
    assert evidence in outcomes[name], outcomes[name]
    assert (outcomes[name] == 'passed') == name.startswith('pass-')


def test_changed_output_is_reported_with_both_sides(outcomes):
    text = outcomes['fail-changed-output']
    assert '41' in text and '42' in text, text

"""classroom/z2jh/: the path to Kubernetes, checked without Docker or a cluster.

The YAML parses and uses only keys of the jupyterhub chart's values schema (the lists below are
taken from values.schema.yaml of jupyterhub/zero-to-jupyterhub-k8s), its sizing is the one
benchmarks/bench_classroom.py derived from the measurements, and the Dockerfile installs
pyproject.toml's pins.
"""

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from classroom import accounts, start  # noqa: E402 -- needs the path above
from tests.pins import normalize, pyproject_pins  # noqa: E402

Z2JH = ROOT / 'classroom' / 'z2jh'
CHART_TOP = {'enabled', 'fullnameOverride', 'nameOverride', 'imagePullSecret', 'imagePullSecrets',
             'hub', 'proxy', 'singleuser', 'scheduling', 'ingress', 'httpRoute', 'prePuller',
             'custom', 'cull', 'debug', 'rbac', 'global'}
CHART_SINGLEUSER = {'networkPolicy', 'podNameTemplate', 'cpu', 'memory', 'image',
                    'initContainers', 'profileList', 'extraFiles', 'extraEnv', 'nodeSelector',
                    'extraTolerations', 'extraNodeAffinity', 'extraPodAffinity',
                    'extraPodAntiAffinity', 'cloudMetadata', 'cmd', 'defaultUrl', 'events',
                    'extraAnnotations', 'extraContainers', 'extraLabels', 'extraPodConfig',
                    'extraResource', 'fsGid', 'lifecycleHooks', 'networkTools',
                    'serviceAccountName', 'startTimeout', 'storage', 'allowPrivilegeEscalation',
                    'uid'}
CHART_CULL = {'enabled', 'users', 'adminUsers', 'removeNamedServers', 'timeout', 'every',
              'concurrency', 'maxAge'}
PIN = re.compile(r'\b([A-Za-z0-9_.-]+)==([0-9][^\s\\]*)')


def config():
    return yaml.safe_load((Z2JH / 'config.yaml').read_text())


def test_config_uses_only_chart_keys():
    c = config()
    assert set(c) <= CHART_TOP
    assert set(c['singleuser']) <= CHART_SINGLEUSER
    assert set(c['cull']) <= CHART_CULL and c['cull']['enabled'] is True


def test_sizing_is_the_measured_one():
    measured = json.loads((ROOT / 'benchmarks' / 'results' / 'classroom.json').read_text())
    rec = measured['recommended']
    su = config()['singleuser']
    assert su['memory'] == {'guarantee': rec['memory_guarantee'], 'limit': rec['memory_limit']}
    assert su['cpu'] == {'guarantee': rec['cpu_guarantee'], 'limit': rec['cpu_limit']}


def test_same_room_as_one_server():
    c = config()
    auth = c['hub']['config']['Authenticator']
    assert auth['allowed_users'] == accounts.learner_names(20)
    assert auth['admin_users'] == [start.parse_args(['--learners', '1']).instructor]
    assert c['cull']['timeout'] == start.parse_args(['--learners', '1']).cull_idle
    env = c['singleuser']['extraEnv']
    assert env['XLA_FLAGS'] == '--xla_force_host_platform_device_count=8'
    assert 'CKPT_LAB_WORKDIR' in env


def test_dockerfile_installs_pyprojects_pins():
    text = (Z2JH / 'Dockerfile').read_text()
    installed = {normalize(n): v for n, v in PIN.findall(text)}
    pins = pyproject_pins()
    assert installed, 'no pins found in the Dockerfile'
    wrong = {n: (v, pins.get(n)) for n, v in installed.items() if pins.get(n) != v}
    assert not wrong, f'Dockerfile pins differ from pyproject (Dockerfile, pyproject): {wrong}'
    runtime = set(pyproject_pins('dependencies'))
    missing = (runtime | {'jupyterhub', 'jupyterlab', 'ipykernel'}) - set(installed)
    assert not missing, f'the Dockerfile does not install {sorted(missing)}'
    assert '-c requirements.lock' in text  # the rest of the tree at the tested versions

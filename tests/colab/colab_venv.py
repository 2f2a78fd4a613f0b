"""A stand-in for a Colab runtime: a fresh Python 3.12 venv with an older JAX stack preinstalled,
`google.colab` imported at start-up (as Colab's kernels have it), and no trace of the repository.

    >>> OLD_STACK[0]
    'jax==0.5.3'
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

# What the runtime has before the notebook's install cell: older than our pins, the kind of
# stack Colab preinstalls (these install on Python 3.12 from PyPI).
OLD_STACK = ['jax==0.5.3', 'jaxlib==0.5.3', 'flax==0.10.4', 'orbax-checkpoint==0.11.10',
             'numpy==2.0.2', 'ipywidgets==7.7.1', 'ipykernel==7.4.0']

STANDIN = '''"""Stand-in for google.colab (the test's Colab runtime): mostly its presence matters."""
# numpy is in memory before any cell runs, so that the install cell's restart notice and the
# restart itself are exercised (an old module in memory is what needs a restart in Colab).
import numpy  # noqa: F401
'''
# google.colab.output: what libraries import from it (jax's debugger does, at import time).
# Anything that would need Colab's browser front end says so instead of pretending.
STANDIN_OUTPUT = '''"""Stand-in for google.colab.output: no browser front end here."""
import contextlib


@contextlib.contextmanager
def redirect_to_element(selector):
    yield


@contextlib.contextmanager
def use_tags(tags, append=True):
    yield


def clear(wait=False, output_tags=()):
    pass


def enable_custom_widget_manager():
    pass


def eval_js(script, ignore_result=False, timeout_sec=None):
    raise NotImplementedError("the google.colab stand-in has no browser to run JavaScript in")


def register_callback(function_name, callback):
    pass
'''


def find_python312() -> str:
    """A Python 3.12 that runs: $PYTHON312, python3.12 on PATH, or one pyenv installed."""
    candidates = [os.environ.get('PYTHON312'), shutil.which('python3.12')]
    candidates += sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.12*/bin/python3.12')))
    for python in filter(None, candidates):
        if not os.access(python, os.X_OK):
            continue
        done = subprocess.run([python, '-c', 'import sys; print(sys.version_info[:2])'],
                              capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == '(3, 12)':
            return python
    raise RuntimeError('make test-colab needs Python 3.12 (Colab\'s version) and found none: '
                       'install it (apt-get install python3.12, or pyenv install 3.12) or set '
                       'PYTHON312=/path/to/python3.12')


def pip(venv: Path, *args: str, timeout: int = 900) -> None:
    done = subprocess.run([str(venv / 'bin' / 'python'), '-m', 'pip', 'install', '-q',
                           '--disable-pip-version-check', *args],
                          capture_output=True, text=True, timeout=timeout, env=clean_env())
    assert done.returncode == 0, f'pip install {args} failed:\n{done.stderr[-3000:]}'


def clean_env() -> dict[str, str]:
    """The environment without anything that could lead Python back to the repository."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONPATH', 'VIRTUAL_ENV', 'PYTHONHOME', 'PYTHONSTARTUP')}
    env['PYTHONNOUSERSITE'] = '1'
    return env


def make_runtime(where: Path) -> Path:
    """The venv (fresh each time; pip's download cache makes the second time quick)."""
    venv = where / 'colab-venv'
    subprocess.run([find_python312(), '-m', 'venv', str(venv)], check=True, timeout=300)
    pip(venv, *OLD_STACK)
    site = Path(glob.glob(str(venv / 'lib' / 'python3.12' / 'site-packages'))[0])
    # google/ stays a namespace package (protobuf lives in google.protobuf): no google/__init__.py.
    (site / 'google' / 'colab').mkdir(parents=True, exist_ok=True)
    (site / 'google' / 'colab' / '__init__.py').write_text(STANDIN)
    (site / 'google' / 'colab' / 'output.py').write_text(STANDIN_OUTPUT)
    (site / 'google_colab_standin.pth').write_text('import google.colab\n')
    return venv


def installed(venv: Path, *names: str) -> dict[str, str]:
    """{name: version} of distributions in the venv."""
    code = ('import importlib.metadata as m, json, sys; '
            'print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))')
    done = subprocess.run([str(venv / 'bin' / 'python'), '-c', code, *names],
                          capture_output=True, text=True, check=True, env=clean_env())
    import json
    return json.loads(done.stdout)

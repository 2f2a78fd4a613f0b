"""Shared fixtures: real checkpoint directories written by Orbax and Flax in the test.

Helpers that tests import by name live in `tests/helpers.py` (never `from conftest import`).
"""

import os

import pytest

from tests.pins import missing_pins


def pytest_sessionstart(session):
    """Before collection: an environment older than pyproject.toml's pins fails to import test
    modules one by one, which reads like broken code; one line says what to do instead."""
    if missing := missing_pins('dependencies', 'test'):
        pytest.exit(f'this environment lacks pyproject.toml pins ({", ".join(missing)}): '
                    'run `make setup`, or `make test`', returncode=2)


# Tests run with 8 host devices, like the notebooks; this must happen before JAX starts.
os.environ.setdefault('XLA_FLAGS', '--xla_force_host_platform_device_count=8')

import ckpt_widgets as cw  # noqa: E402

cw.setup(devices=8)

import numpy as np  # noqa: E402
import orbax.checkpoint as ocp  # noqa: E402
from flax.training import checkpoints  # noqa: E402

from ckpt_widgets.runtime import flax_msgpack_writer  # noqa: E402
from tests.helpers import TOY  # noqa: E402


@pytest.fixture(scope='session')
def written(tmp_path_factory):
    """One folder per writer: orbax manager, v1 Checkpointer, flax msgpack, flax on orbax."""
    root = tmp_path_factory.mktemp('written')
    policy = ocp.checkpoint_managers.AnyPreservationPolicy(
        [ocp.checkpoint_managers.LatestN(3), ocp.checkpoint_managers.EveryNSteps(2)])
    with ocp.CheckpointManager(root / 'orbax', options=ocp.CheckpointManagerOptions(
            preservation_policy=policy)) as mngr:
        for step in range(6):
            mngr.save(step, args=ocp.args.PyTreeSave(TOY))
    import orbax.checkpoint.experimental.v1 as v1
    with v1.training.Checkpointer(root / 'v1') as ckptr:
        for step in range(2):
            ckptr.save(step, {'w': np.arange(4.0)})
    for step in range(3):
        checkpoints.save_checkpoint(root / 'flax_orbax', TOY, step=step, keep=2)
    with flax_msgpack_writer(True, hide_deprecation=True):
        for step in (0, 100, 200):
            checkpoints.save_checkpoint(root / 'flax_msgpack', TOY, step=step, keep=5)
    return root

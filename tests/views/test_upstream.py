"""Each private Orbax/JAX hook in ckpt_widgets.upstream still works on the pinned versions."""

import inspect

import numpy as np
import orbax.checkpoint as ocp

from ckpt_widgets import upstream


def test_jax_backends_started_after_the_first_operation():
    import jax
    jax.numpy.zeros(1).block_until_ready()  # conftest already chose 8 host devices
    assert upstream.jax_backends_started() is True


def test_manager_options_of_a_manager_and_of_a_v1_checkpointer(tmp_path):
    options = ocp.CheckpointManagerOptions(max_to_keep=2, step_prefix='run')
    with ocp.CheckpointManager(tmp_path / 'm', options=options) as mngr:
        assert upstream.manager_options(mngr) is options
    import orbax.checkpoint.experimental.v1 as v1
    with v1.training.Checkpointer(tmp_path / 'v1') as ckptr:
        ckptr.save(0, {'w': np.arange(2.0)})
        assert isinstance(upstream.manager_options(ckptr), ocp.CheckpointManagerOptions)
    assert upstream.manager_options(object()) is None


def test_a_v1_checkpointers_policy_is_on_its_manager_options(tmp_path):
    import orbax.checkpoint.experimental.v1 as v1
    policy = ocp.checkpoint_managers.LatestN(2)
    with v1.training.Checkpointer(tmp_path / 'v1', preservation_policy=policy) as ckptr:
        assert upstream.manager_options(ckptr).preservation_policy is policy


def test_orbax_atomicity_has_the_async_commit_callback():
    callback = upstream.orbax_atomicity().on_commit_callback
    assert inspect.iscoroutinefunction(callback)


def test_orbax_async_path_has_the_async_mkdir():
    assert inspect.iscoroutinefunction(upstream.orbax_async_path().mkdir)

"""Facts about the pinned Flax and Orbax that migrate-code's rules are built on.

If an upgrade changes one of these, the rule that relies on it must change too.
"""

import os

import numpy as np
import orbax.checkpoint as ocp
import pytest
from flax.training import checkpoints

from ckpt_widgets.migrate.retention import FlaxRetention
from ckpt_widgets.runtime import flax_msgpack_writer

TREE = {'a': np.arange(3), 'b': np.float32(2.0)}


def _names(d):
    return sorted(os.listdir(d))


@pytest.mark.parametrize('msgpack', [False, True])
def test_flax_overwrite_replaces_the_step_and_deletes_newer_ones(tmp_path, msgpack):
    with flax_msgpack_writer(msgpack):
        for step in range(5):
            checkpoints.save_checkpoint(tmp_path, TREE, step, keep=10)
        checkpoints.save_checkpoint(tmp_path, TREE, 2, keep=10, overwrite=True)
    assert _names(tmp_path) == ['checkpoint_0', 'checkpoint_1', 'checkpoint_2']


def test_manager_refuses_an_existing_step_even_with_force(tmp_path):
    with ocp.CheckpointManager(tmp_path) as mngr:
        mngr.save(1, args=ocp.args.PyTreeSave(TREE))
        mngr.wait_until_finished()
        assert mngr.save(1, args=ocp.args.PyTreeSave(TREE)) is False  # silently
        with pytest.raises(ocp.checkpoint_manager.StepAlreadyExistsError):
            mngr.save(1, args=ocp.args.PyTreeSave(TREE), force=True)


def test_step_prefix_with_underscores_names_and_lists_steps(tmp_path):
    for prefix in ('u_pinn_checkpoint_3', 'meta_0'):
        with ocp.CheckpointManager(tmp_path, options=ocp.CheckpointManagerOptions(
                step_prefix=prefix)) as mngr:
            for step in (1, 2):
                mngr.save(step, args=ocp.args.PyTreeSave(TREE))
    for prefix in ('u_pinn_checkpoint_3', 'meta_0'):
        with ocp.CheckpointManager(tmp_path, options=ocp.CheckpointManagerOptions(
                step_prefix=prefix, read_only=True)) as mngr:
            assert mngr.all_steps() == [1, 2]
    assert _names(tmp_path) == ['meta_0_1', 'meta_0_2', 'u_pinn_checkpoint_3_1',
                                'u_pinn_checkpoint_3_2']


def test_two_managers_on_one_folder_each_see_their_own_steps(tmp_path):
    def manager(prefix):
        return ocp.CheckpointManager(tmp_path, options=ocp.CheckpointManagerOptions(
            step_prefix=prefix, preservation_policy=ocp.checkpoint_managers.LatestN(1)))
    with manager('model') as model, manager('opt_state') as opt:
        for step in range(3):
            model.save(step, args=ocp.args.PyTreeSave(TREE))
            opt.save(step, args=ocp.args.PyTreeSave(TREE))
        model.wait_until_finished()
        opt.wait_until_finished()
        assert model.all_steps() == [2] and opt.all_steps() == [2]
    assert _names(tmp_path) == ['model_2', 'opt_state_2']


def test_read_only_manager_on_a_missing_folder_finds_nothing_and_creates_nothing(tmp_path):
    missing = tmp_path / 'missing'
    with ocp.CheckpointManager(missing, options=ocp.CheckpointManagerOptions(
            read_only=True)) as mngr:
        assert mngr.latest_step() is None
    assert not missing.exists()


def test_flax_retention_keeps_flax_set_where_every_n_steps_does_not(tmp_path):
    with ocp.CheckpointManager(tmp_path, options=ocp.CheckpointManagerOptions(
            preservation_policy=FlaxRetention(keep=3, keep_every_n_steps=2))) as mngr:
        for step in range(5):
            mngr.save(step, args=ocp.args.PyTreeSave(TREE))
    assert _names(tmp_path) == ['1', '2', '3', '4']


def test_multiprocess_save_on_flax_orbax_backend_keeps_one_more(tmp_path):
    # save_rules.MULTIPROCESS_NOTE: Flax cleans up before it saves on its Orbax backend.
    for step in range(4):
        checkpoints.save_checkpoint_multiprocess(tmp_path / 'orbax', TREE, step, keep=2)
    with flax_msgpack_writer():
        for step in range(4):
            checkpoints.save_checkpoint_multiprocess(tmp_path / 'msgpack', TREE, step, keep=2)
    assert _names(tmp_path / 'orbax') == ['checkpoint_1', 'checkpoint_2', 'checkpoint_3']
    assert _names(tmp_path / 'msgpack') == ['checkpoint_2', 'checkpoint_3']


def test_restore_without_target_turns_lists_into_dicts_in_flax_only(tmp_path):
    tree = {'l': [1, 2]}
    checkpoints.save_checkpoint(tmp_path / 'flax', tree, 0)
    assert checkpoints.restore_checkpoint(tmp_path / 'flax', None)['l'] == {'0': 1, '1': 2}
    with ocp.CheckpointManager(tmp_path / 'orbax') as mngr:
        mngr.save(0, args=ocp.args.PyTreeSave(tree))
        mngr.wait_until_finished()
        assert mngr.restore(0, args=ocp.args.PyTreeRestore())['l'] == [1, 2]

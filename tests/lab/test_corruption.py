"""Damaged checkpoints and wrong targets: what each API says, what a cheap check sees."""

import gc
import logging
import os
import pathlib
import shutil
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest
from flax.training import checkpoints as flax_checkpoints
from orbax.checkpoint.experimental import v1 as ocp_v1

from ckpt_widgets import health
from ckpt_widgets.lab.failures import corruption, targets
from ckpt_widgets.runtime import flax_msgpack_writer

logging.getLogger('absl').setLevel(logging.ERROR)
# Failed reads leave orbax coroutines un-awaited and an 'Event loop is closed'
# callback behind; they surface at garbage collection in whichever test runs
# next. The errors themselves are asserted below.
pytestmark = pytest.mark.filterwarnings(
    'ignore::pytest.PytestUnraisableExceptionWarning')


@pytest.fixture(autouse=True)
def _collect_leftovers_here():
    """Collects them in this module's teardown, not in another module's test."""
    yield
    gc.collect()

TREE = {
    'params': {
        'w': np.arange(1 << 16, dtype=np.float32),
        'b': np.ones(3, np.int32),
    },
    'step': np.asarray(1, np.int32),
}
APIS = [
    'CheckpointManager.restore(StandardRestore())',
    'CheckpointManager.restore(StandardRestore(target))',
    'PyTreeCheckpointer().restore(step/default)',
    'v1.load(step)',
    'flax restore_checkpoint(step/default)',
]


@pytest.fixture(scope='module')
def healthy_template(tmp_path_factory):
    root = tmp_path_factory.mktemp('template') / 'ckpt'
    with ocp.CheckpointManager(root) as mgr:
        mgr.save(1, args=ocp.args.StandardSave(TREE))
    return root


@pytest.fixture
def ckpt(healthy_template, tmp_path):
    """A private healthy manager dir with step 1."""
    root = tmp_path / 'ckpt'
    shutil.copytree(healthy_template, root)
    return root


def _outcomes(root):
    return {o.api: o for o in corruption.restore_outcomes(root, 1, TREE)}


def _w(value):
    return np.asarray(value['params']['w'])


def test_healthy_step_restores_everywhere_and_diagnoses_clean(ckpt):
    assert health.diagnose_step(ckpt / '1') is None
    outcomes = _outcomes(ckpt)
    assert list(outcomes) == APIS
    for o in outcomes.values():
        assert o.ok, o.text
        np.testing.assert_array_equal(_w(o.value), TREE['params']['w'])


def test_truncated_data_file_shows_only_on_restore(ckpt):
    damaged = corruption.truncate_data_file(ckpt / '1')
    assert damaged.parent.name == 'd'
    assert damaged.parent.parent.name == 'ocdbt.process_0'
    assert health.diagnose_step(ckpt / '1') is None  # not cheaply visible
    for o in _outcomes(ckpt).values():
        assert (o.ok, o.error_type) == (False, 'ValueError'), o.text
        assert o.message.startswith('OUT_OF_RANGE: Error reading "params.w/0"')
        assert 'is not valid for value of size' in o.message


def test_deleted_metadata_is_cheap_to_see_and_a_target_still_restores(ckpt):
    assert corruption.delete_metadata(ckpt / '1') == ckpt / '1/default/_METADATA'
    assert health.diagnose_step(ckpt / '1') == 'missing default/_METADATA'
    o = _outcomes(ckpt)
    assert o[APIS[0]].error_type == 'FileNotFoundError'
    assert o[APIS[0]].message == (
        'Metadata file (named _METADATA) does not exist at <ckpt>/1/default.')
    # The target supplies the structure _METADATA held: the data is intact.
    assert o[APIS[1]].ok
    np.testing.assert_array_equal(_w(o[APIS[1]].value), TREE['params']['w'])
    for api in (APIS[2], APIS[4]):
        assert o[api].error_type == 'FileNotFoundError'
        assert o[api].message.startswith('No structure could be identified')
    assert o[APIS[3]].error_type == 'InvalidLayoutError'
    assert o[APIS[3]].message.endswith('No valid PyTree checkpointable found.')


def test_garbled_manifest_is_cheap_to_see_and_fails_every_restore(ckpt):
    assert corruption.garble_manifest(ckpt / '1') == ckpt / '1/default/manifest.ocdbt'
    assert health.diagnose_step(ckpt / '1') == (
        'default/manifest.ocdbt unreadable: not an OCDBT manifest')
    for o in _outcomes(ckpt).values():
        assert (o.ok, o.error_type) == (False, 'ValueError'), o.text
        assert o.message.startswith('DATA_LOSS: Error opening ')
        assert ('Error decoding manifest: Expected to start with hex bytes'
                ' 0cdb3a2a') in o.message


def test_cut_manifest_is_cheap_to_see(ckpt):
    manifest = ckpt / '1/default/manifest.ocdbt'
    size = manifest.stat().st_size
    os.truncate(manifest, size - 1)
    assert health.diagnose_step(ckpt / '1') == (
        f'default/manifest.ocdbt unreadable: header says {size} bytes,'
        f' file has {size - 1}')


def test_flipped_data_bytes_restore_silently_wrong(ckpt):
    corruption.flip_data_bytes(ckpt / '1')
    assert health.diagnose_step(ckpt / '1') is None
    for o in _outcomes(ckpt).values():
        assert o.ok, o.text  # no checksum on array data: no error anywhere
        assert not np.array_equal(_w(o.value), TREE['params']['w'])


def test_diagnose_step_on_odd_entries_never_raises(tmp_path):
    (tmp_path / 'empty').mkdir()
    (tmp_path / '7.orbax-checkpoint-tmp').mkdir()
    assert health.diagnose_step(tmp_path / 'missing') == 'does not exist'
    assert health.diagnose_step(tmp_path / 'empty') == 'empty step directory'
    assert health.diagnose_step(tmp_path / '7.orbax-checkpoint-tmp') == (
        'unfinished save (no commit_success.txt)')


def test_damage_functions_refuse_non_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match='not a checkpoint directory'):
        corruption.truncate_data_file(tmp_path / 'nope')
    (tmp_path / 'plain').mkdir()
    (tmp_path / 'plain' / 'notes.txt').write_text('keep')
    with pytest.raises(FileNotFoundError, match='no data files under a d/ folder'):
        corruption.truncate_data_file(tmp_path / 'plain')
    with pytest.raises(FileNotFoundError, match='no manifest.ocdbt'):
        corruption.garble_manifest(tmp_path / 'plain')
    with pytest.raises(FileNotFoundError, match='not a legacy Flax checkpoint file'):
        corruption.truncate_msgpack(tmp_path / 'plain')
    assert (tmp_path / 'plain' / 'notes.txt').read_text() == 'keep'


@pytest.fixture
def legacy_flax_file(tmp_path):
    with flax_msgpack_writer():
        path = flax_checkpoints.save_checkpoint(tmp_path / 'flax', TREE, step=1)
    return tmp_path / 'flax', path


def test_truncated_msgpack(legacy_flax_file):
    directory, path = legacy_flax_file
    assert os.listdir(directory) == ['checkpoint_1']
    assert health.diagnose_step(path) is None
    size = os.path.getsize(path)
    assert corruption.truncate_msgpack(path) == pathlib.Path(path)
    assert os.path.getsize(path) == size // 2
    assert health.diagnose_step(path) == 'msgpack truncated'
    with pytest.raises(ValueError, match='Unpack failed: incomplete input'):
        flax_checkpoints.restore_checkpoint(directory, target=TREE)
    with pytest.raises(ValueError, match='Unpack failed: incomplete input'):
        flax_checkpoints.restore_checkpoint(path, target=None)
    os.truncate(path, 0)
    assert health.diagnose_step(path) == 'msgpack file is empty'


def test_msgpack_trailing_bytes(legacy_flax_file):
    _, path = legacy_flax_file
    with open(path, 'ab') as f:
        f.write(b'\x00\x01')
    assert health.diagnose_step(path) == 'msgpack has 2 trailing bytes'


# --- wrong targets -----------------------------------------------------------

SMALL = {
    'params': {'w': jnp.arange(12, dtype=jnp.float32).reshape(3, 4),
               'b': jnp.ones(3, jnp.int32)},
    'step': jnp.asarray(1, jnp.int32),
}
STRUCTURE_MSG = ('User-provided restore item and on-disk value metadata tree'
                 ' structures do not match')
SHAPE_MSG = (r'Requested shape: \(4, 3\) is not compatible with the stored'
             r' shape: \(3, 4\)\. Truncating/padding is disabled')


@pytest.fixture(scope='module')
def small_ckpt(tmp_path_factory):
    root = tmp_path_factory.mktemp('small') / 'ckpt'
    with ocp.CheckpointManager(root) as mgr:
        mgr.save(1, args=ocp.args.StandardSave(SMALL))
    return root


def _with(**params):
    return {'params': {**SMALL['params'], **params}, 'step': SMALL['step']}


def _restore_calls(root, target):
    def manager(args):
        with ocp.CheckpointManager(root) as mgr, warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)
            return mgr.restore(1, args=args)
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    return {
        'StandardRestore': lambda: manager(ocp.args.StandardRestore(target)),
        'PyTreeRestore+restore_args': lambda: manager(ocp.args.PyTreeRestore(
            target,
            restore_args=ocp.checkpoint_utils.construct_restore_args(target))),
        'v1.load': lambda: ocp_v1.load(root / '1', abstract),
    }


@pytest.mark.parametrize('target', [
    _with(extra=jnp.zeros(2)),
    {'params': {'w': SMALL['params']['w']}, 'step': SMALL['step']},
], ids=['extra_leaf', 'missing_leaf'])
def test_wrong_structure_raises_structure_mismatch(small_ckpt, target):
    for call in _restore_calls(small_ckpt, target).values():
        with pytest.raises(ValueError, match=STRUCTURE_MSG):
            call()


def test_wrong_shape_raises(small_ckpt):
    target = _with(w=jnp.zeros((4, 3), jnp.float32))
    for call in _restore_calls(small_ckpt, target).values():
        with pytest.raises(ValueError, match=SHAPE_MSG):
            call()
    # Without restore_args PyTreeRestore ignores the target's shapes.
    with ocp.CheckpointManager(small_ckpt) as mgr, warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        got = mgr.restore(1, args=ocp.args.PyTreeRestore(target))
    assert got['params']['w'].shape == (3, 4)


def test_wrong_dtype_is_cast_silently(small_ckpt):
    target = _with(w=jnp.zeros((3, 4), jnp.int32))
    for name, call in _restore_calls(small_ckpt, target).items():
        got = call()
        assert got['params']['w'].dtype == jnp.int32, name
        np.testing.assert_array_equal(got['params']['w'], np.arange(12).reshape(3, 4))
    assert targets.target_mismatches(small_ckpt / '1/default', target) == [
        'params.w: dtype int32 != stored float32 (restore casts silently)']


def test_target_mismatches_lists_every_difference(small_ckpt):
    target = {'params': {'w': jnp.zeros((4, 3), jnp.int32), 'bias': jnp.zeros(3)},
              'step': 0}
    assert targets.target_mismatches(small_ckpt / '1/default', target) == [
        'params.bias: not in the checkpoint',
        'params.b: in the checkpoint, missing from the target',
        'params.w: shape (4, 3) != stored (3, 4)',
        'params.w: dtype int32 != stored float32 (restore casts silently)',
    ]


def test_abstract_target_from_metadata_restores_exactly(small_ckpt):
    abstract = targets.abstract_target_from_metadata(small_ckpt / '1/default')
    assert jax.tree.map(lambda x: (x.shape, str(x.dtype)), abstract) == {
        'params': {'b': ((3,), 'int32'), 'w': ((3, 4), 'float32')},
        'step': ((), 'int32'),
    }
    assert targets.target_mismatches(small_ckpt / '1/default', abstract) == []
    with ocp.CheckpointManager(small_ckpt) as mgr:
        got = mgr.restore(1, args=ocp.args.StandardRestore(abstract))
    jax.tree.map(np.testing.assert_array_equal, got, SMALL)
    # Orbax's own routes to the same abstract tree.
    with ocp.CheckpointManager(
        small_ckpt, item_handlers=ocp.StandardCheckpointHandler()) as mgr:
        via_manager = jax.tree.map(ocp.utils.to_shape_dtype_struct,
                                   mgr.item_metadata(1).tree)
    assert via_manager == abstract
    v1_meta = ocp_v1.metadata(small_ckpt / '1')
    got_v1 = ocp_v1.load(small_ckpt / '1', v1_meta)
    jax.tree.map(np.testing.assert_array_equal, got_v1, SMALL)


def test_fresh_manager_item_metadata_is_none_without_handler(small_ckpt):
    with ocp.CheckpointManager(small_ckpt) as mgr:
        assert mgr.item_metadata(1) is None

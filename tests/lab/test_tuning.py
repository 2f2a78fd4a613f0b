"""The tuning options do what their names say, restore exactly, and the benchmark judges them right."""

import math
import sys
from pathlib import Path

import pytest

from ckpt_widgets.lab import costs, tuning

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'benchmarks'))
import bench_tuning  # noqa: E402


@pytest.fixture(scope='module')
def row(tmp_path_factory):
    """Every option once on a 1 MB tree over 8 devices; `measure` checks each restore."""
    return bench_tuning.measure_options(1, 1, tmp_path_factory.mktemp('tuning'),
                                        list(tuning.OPTIONS))


def test_every_option_saves_restores_and_is_timed(row):
    assert list(row['options']) == list(tuning.OPTIONS) and row['devices'] == 8
    for name, o in row['options'].items():
        for key in ('save_mb_s', 'restore_mb_s'):
            assert math.isfinite(o[key]['median']) and o[key]['median'] > 0, (name, key)
        assert o['save_cpu_per_s'] >= 0 and o['restore_cpu_per_s'] >= 0, name


def _data_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob('*') if f.is_file() and '/d/' in str(f))


def test_no_zstd_writes_the_raw_bytes_and_the_default_compresses(tmp_path):
    tree = costs.float32_tree(2)
    for name in ('default', 'no_zstd'):
        method = tuning.OPTIONS[name]()
        (tmp_path / name).mkdir()
        method.save(tmp_path / name, tree)
        method.close()
    raw, packed = _data_bytes(tmp_path / 'no_zstd'), _data_bytes(tmp_path / 'default')
    assert packed < 0.97 * raw and raw >= costs.tree_bytes(tree)


def test_chunks_option_splits_a_big_single_device_array(tmp_path):
    import orbax.checkpoint as ocp
    tree = costs.float32_tree(40, leaves=1)  # one 40 MB leaf on one device
    chunks = {}
    for name in ('default', 'chunks_16MB'):
        method = tuning.OPTIONS[name]()
        (tmp_path / name).mkdir()
        method.save(tmp_path / name, tree)
        method.close()
        with ocp.Checkpointer(ocp.PyTreeCheckpointHandler()) as ckptr:
            leaf = ckptr.metadata(tmp_path / name / 'ckpt').item_metadata.tree['params']['layer_0']
        chunks[name] = leaf.storage.chunk_shape[0] * 4  # float32 bytes per chunk
    assert chunks['default'] == costs.tree_bytes(tree)  # by default: one chunk per shard
    assert chunks['chunks_16MB'] <= tuning.CHUNK_BYTES


def test_targets_need_both_shares_of_a_recipe():
    def rates(save, restore):
        s = lambda v: {'median': v, 'min': v, 'max': v}  # noqa: E731
        return {'save_mb_s': s(save), 'restore_mb_s': s(restore),
                'save_cpu_per_s': 1.0, 'restore_cpu_per_s': 1.0}
    row = {'devices': 1, 'megabytes': 1000, 'repeats': 3,
           'disk': {'write_fsync_mb_s': {'median': 1000.0, 'min': 1, 'max': 1},
                    'read_mb_s': {'median': 1000.0, 'min': 1, 'max': 1}},
           'options': {'default': rates(500, 300), 'recipe': rates(900, 700),
                       'v1_recipe': rates(950, 600)}}
    got = {t['option']: t['met'] for t in bench_tuning.targets([row])}
    assert got == {'recipe': True, 'v1_recipe': False}
    text = bench_tuning.markdown({'rows': [row], 'targets': bench_tuning.targets([row])})
    assert '| recipe | 900 (900-900) | 90% |' in text and '| v1_recipe: ' in text


def test_bad_arguments_exit_2_with_one_line(capsys):
    assert bench_tuning.main(['--options', 'no_such_option']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'no_such_option' in err[0]

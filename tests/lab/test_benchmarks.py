"""The benchmark code cannot rot: its quick path runs here, in-process, on a 1 MB pytree.

The timings themselves are not checked (they vary with the machine); their structure is:
every method and the disk's limit are measured, every rate is a positive finite number, and
the restore check really compares what was saved.
"""

import math
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from ckpt_widgets.lab import costs

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'benchmarks'))
import bench_checkpoint  # noqa: E402
import bench_convert  # noqa: E402
import bench_memory  # noqa: E402
import bench_notebooks  # noqa: E402


def positive_finite(summary: dict) -> bool:
    return set(summary) == {'median', 'min', 'max'} and all(
        math.isfinite(v) and v > 0 for v in summary.values()) and (
        summary['min'] <= summary['median'] <= summary['max'])


@pytest.fixture(scope='module')
def quick_rows(tmp_path_factory):
    return bench_checkpoint.run_in_process((1,), quick=True, repeats=1,
                                           directory=tmp_path_factory.mktemp('bench'))


def test_quick_run_measures_every_method_and_the_disk_on_8_sharded_devices(quick_rows):
    (row,) = quick_rows
    assert row['devices'] == 8 and row['leaves'] == 4 and row['repeats'] == 1
    assert 900_000 < row['bytes'] <= 1_000_000
    assert set(row['disk']) == {'write_fsync_mb_s', 'write_mb_s', 'read_mb_s'}
    assert all(positive_finite(s) for s in row['disk'].values())
    assert list(row['methods']) == list(costs.METHODS)
    for name, m in row['methods'].items():
        assert set(m) == {'save_mb_s', 'restore_mb_s', 'blocked_ms', 'save_ms', 'restore_ms'}, name
        assert all(positive_finite(s) for s in m.values()), name
        # save() cannot return after the save has finished.
        assert m['blocked_ms']['median'] <= m['save_ms']['median'], name


def test_markdown_has_a_row_per_method_and_the_disk(quick_rows):
    text = bench_checkpoint.markdown({'results': quick_rows, 'targets': [], 'notes': ['n']})
    assert '**8 device(s), 1 MB**' in text
    assert '| disk: write + fsync / read |' in text
    for name in costs.METHODS:
        assert f'| {name} |' in text


def test_targets_compare_medians_against_the_issue_thresholds():
    def m(save_mb_s=100.0, blocked_ms=10.0, save_ms=100.0):
        s = lambda v: {'median': v, 'min': v, 'max': v}  # noqa: E731
        return {'save_mb_s': s(save_mb_s), 'blocked_ms': s(blocked_ms), 'save_ms': s(save_ms)}
    row = {'devices': 1, 'megabytes': 1000, 'disk': {'write_fsync_mb_s': {'median': 300.0}},
           'methods': {'orbax_sync': m(save_mb_s=150.0, blocked_ms=1000.0, save_ms=1000.0),
                       'orbax_async': m(blocked_ms=50.0)}}
    got = {t['target']: (t['measured'], t['met']) for t in bench_checkpoint.targets([row])}
    assert got == {"Orbax sync save >= 50 % of the disk's write+fsync limit": ('50%', True),
                   'orbax_async save() blocks <= 5 % of orbax_sync save time': ('5.0%', True)}
    row['megabytes'] = 10  # below 100 MB: no target applies
    assert bench_checkpoint.targets([row]) == []


def test_measure_notices_a_restore_that_differs(tmp_path, monkeypatch):
    class Forgetful(costs.METHODS['orbax_sync']().__class__):
        def restore(self, path, abstract):
            return jax.tree.map(lambda a: jax.numpy.zeros(a.shape, a.dtype, device=a.sharding),
                                super().restore(path, abstract))
    monkeypatch.setitem(costs.METHODS, 'forgetful', Forgetful)
    with pytest.raises(AssertionError, match='forgetful: restored tree differs'):
        costs.measure('forgetful', costs.float32_tree(0.1), tmp_path, repeats=1)
    assert list(tmp_path.iterdir()) == []  # cleaned up even on failure


def test_measure_rejects_bad_arguments_before_touching_the_disk(tmp_path):
    tree = costs.float32_tree(0.1)
    with pytest.raises(ValueError, match="unknown method 'orbax'"):
        costs.measure('orbax', tree, tmp_path)
    with pytest.raises(ValueError, match='repeats must be at least 1, got 0'):
        costs.measure('orbax_sync', tree, tmp_path, repeats=0)
    assert list(tmp_path.iterdir()) == []


def test_disk_limit_and_drop_page_cache_keep_data_and_clean_up(tmp_path):
    tree = costs.float32_tree(0.1, leaves=2)
    times = costs.disk_limit(tmp_path / 'disk', tree)
    assert set(times) == {'write_fsync_s', 'write_s', 'read_s'} and min(times.values()) > 0
    assert not (tmp_path / 'disk').exists()
    f = tmp_path / 'f.bin'
    f.write_bytes(b'abc' * 1000)
    costs.drop_page_cache(tmp_path)
    costs.drop_page_cache(f)
    assert f.read_bytes() == b'abc' * 1000


def test_float32_tree_splits_evenly_over_8_devices():
    from jax.sharding import Mesh, NamedSharding, PartitionSpec
    sharding = NamedSharding(Mesh(np.array(jax.devices()), ('x',)), PartitionSpec('x'))
    tree = costs.float32_tree(1, leaves=3, sharding=sharding)
    leaves = jax.tree.leaves(tree)
    assert len(leaves) == 3 and all(a.sharding == sharding and a.dtype == np.float32 for a in leaves)
    assert costs.tree_bytes(tree) == 3 * 82944 * 4  # 10**6 / 4 / 3 elements, rounded down to 1024s


def test_notebook_table_reports_each_target_and_the_suite_target():
    result = {'notebooks': [{'target': 'notebooks/00_setup.ipynb', 'seconds': 5.0, 'passed': True},
                            {'target': 'notebooks/06_legacy_checkpoints.ipynb', 'seconds': 10.4,
                             'passed': True},
                            {'target': 'notebooks/08_multi_process.ipynb', 'seconds': 12.0,
                             'passed': False}],
              'sum_of_notebooks_s': 27.4, 'suite_target_s': 60.0,
              'suite': {'target': 'notebooks', 'seconds': 61.2, 'passed': True}}
    text = bench_notebooks.markdown(result)
    assert '| 00_setup.ipynb | 5.0 s | <= 10 s: met | yes |' in text
    assert '| 06_legacy_checkpoints.ipynb | 10.4 s | <= 10 s: NOT met | yes |' in text
    assert '| 08_multi_process.ipynb | 12.0 s | <= 20 s: met | NO |' in text
    assert '-n auto --dist loadfile** | 61.2 s | <= 60 s: NOT met | yes |' in text


def test_memory_profile_reads_back_the_recipe_checkpoint_every_way(tmp_path):
    runs = bench_memory.restore_profiles(1, 1, tmp_path, idle_s=0)
    assert sorted(runs) == ['plain read of the same files into fresh buffers',
                            'restore -> jax.Array (recipe)', 'restore -> numpy (recipe)']
    for by_memory in runs.values():
        assert sorted(by_memory) == ['cold', 'warm']
        for (run,) in by_memory.values():
            assert run['mb_s'] > 0 and run['wall_s'] > 0
            assert run['user_cpu_s'] >= 0 and run['kernel_cpu_s'] >= 0
    text = bench_memory.markdown({'memory': {'fresh_mib_s': 400, 'just_freed_mib_s': 8000},
                                  'megabytes': 1, 'repeats': 1, 'runs': runs})
    assert 'Fresh memory: 400 MiB/s; memory just freed: 8000 MiB/s.' in text
    assert text.count('| cold |') == text.count('| warm |') == 3


def test_convert_profile_splits_the_conversion_into_its_phases(tmp_path):
    src = tmp_path / 'flax'
    total = bench_convert.write_legacy_steps(str(src), steps=2, mib_per_step=1)
    profile = bench_convert.profiled_convert(str(src), str(tmp_path / 'orbax'), total)
    phases = profile['phases_s']
    assert phases['save (Orbax, until durable)'] > 0 and phases['restore (verification)'] > 0
    assert abs(sum(phases.values()) - profile['wall_s']) < 0.01

"""PytreeView and compare on real restores, sharded arrays included."""

import jax
import numpy as np
import optax
import orbax.checkpoint as ocp
from flax.training import checkpoints
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import ckpt_widgets as cw
from tests.helpers import TOY


def test_leaves_show_types_shapes_and_none():
    view = cw.PytreeView({'s': 'str', 'n': None, 'i': 3, 'a': np.zeros((2, 3), np.float32)}, 'toy')
    assert view.text.splitlines() == [
        'toy: 4 leaves',
        'path   type     shape   dtype    value',
        "['a']  ndarray  (2, 3)  float32  [[0., 0., 0.], [0., 0., 0.]]",
        "['i']  int                       3",
        "['n']  None                      None",
        "['s']  str                       'str'",
    ]


def test_device_grid_for_sharded_and_replicated_arrays():
    mesh = jax.make_mesh((2, 4), ('data', 'model'))
    x = jax.device_put(np.arange(32.0).reshape(4, 8), NamedSharding(mesh, P('data', 'model')))
    r = jax.device_put(np.arange(4.0), NamedSharding(mesh, P()))
    text = cw.PytreeView({'x': x, 'r': r}).text
    assert "NamedSharding(data=2, model=4) P('data', 'model')" in text
    assert 'devices 2x4: 0:A 1:B 2:C 3:D | 4:E 5:F 6:G 7:H' in text
    assert 'devices 2x4: 0:A 1:A 2:A 3:A | 4:A 5:A 6:A 7:A' in text


def test_many_leaves_are_capped():
    view = cw.PytreeView(list(range(10_000)), limit=50)
    assert view.text.splitlines()[0] == '10000 leaves'
    assert view.text.splitlines()[-1] == '… 9950 more leaves'


def test_compare_equal_after_orbax_roundtrip(tmp_path):
    state = {'params': {'w': np.ones((3, 2), np.float32)},
             'opt': optax.adam(1e-3).init({'w': np.ones((3, 2), np.float32)}), 'step': 7}
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(tmp_path / 'c', state)
        ckptr.wait_until_finished()
        restored = ckptr.restore(tmp_path / 'c', state)
    result = cw.compare(state, restored, 'saved', 'restored')
    assert result.equal, result.text
    assert result.text.splitlines()[0] == 'saved vs restored: EQUAL'


def test_compare_flags_flax_lists_turned_into_dicts(tmp_path):
    checkpoints.save_checkpoint(tmp_path, TOY, step=0)
    restored = checkpoints.restore_checkpoint(tmp_path, target=None)
    result = cw.compare(TOY, restored, 'saved', 'flax')
    assert not result.equal
    assert {d.status for d in result.differences} == {'container differs'}
    assert "[1]['foo']  container differs  saved: [1]['foo']  flax: ['1']['foo']" in result.text


def test_compare_reports_dtype_shape_value_type_and_missing():
    a = {'d': np.zeros(2, np.float32), 's': np.zeros(2), 'v': np.arange(3), 't': 'x', 'm': 1}
    b = {'d': np.zeros(2, np.float64), 's': np.zeros(3), 'v': np.array([0, 1, 5]), 't': np.zeros(1)}
    rows = {r.path: r for r in cw.compare(a, b, 'a', 'b').comparison.rows}
    assert rows["['d']"].status == 'dtype differs'
    assert (rows["['d']"].left, rows["['d']"].right) == ('float32', 'float64')
    assert rows["['s']"].status == 'shape differs'
    assert rows["['v']"].status == 'value differs'
    assert rows["['t']"].status == 'type differs'
    assert rows["['m']"].status == 'missing in b'


def test_nan_equals_nan_and_html_escapes():
    assert cw.compare({'x': np.array([np.nan])}, {'x': np.array([np.nan])}).equal
    html = cw.compare({'<b>': '<i>'}, {'<b>': '<u>'})._repr_mimebundle_()['text/html']
    assert '<b>' not in html.replace('<b style', '').replace('</b>', '') and '&lt;u&gt;' in html

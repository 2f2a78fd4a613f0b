"""ckpt_widgets.errors: stable one-line error headlines."""

import doctest

import pytest

from ckpt_widgets import errors
from ckpt_widgets.errors import error_headline


def test_doctests():
    assert doctest.testmod(errors).failed == 0


def test_headline_cuts_tensorstore_spec_and_relativizes(tmp_path):
    root = tmp_path / 'ckpt'
    e = ValueError(f'NOT_FOUND: Metadata at "1.foo/.zarray" in "{root}/" does not exist '
                   '[tensorstore_spec=\'{"driver": "zarr"}\']\nsecond line')
    assert error_headline(e, root) == (
        'ValueError: NOT_FOUND: Metadata at "1.foo/.zarray" in "ckpt/" does not exist')


def test_headline_of_empty_message():
    assert error_headline(RuntimeError()) == 'RuntimeError: '


def test_real_orbax_error_is_one_relative_line(tmp_path):
    import numpy as np
    import orbax.checkpoint as ocp

    ckptr = ocp.PyTreeCheckpointer()
    ckptr.save(tmp_path / 'a', args=ocp.args.PyTreeSave({'w': np.arange(3)}))
    with pytest.raises(ValueError) as info:
        ckptr.save(tmp_path / 'a', args=ocp.args.PyTreeSave({'w': np.arange(3)}))
    assert error_headline(info.value, tmp_path) == (
        f'ValueError: Destination {tmp_path.name}/a already exists.')


@pytest.mark.parametrize('error', [ValueError('x [source locations=\'a.cc:1\']')])
def test_source_locations_are_cut(error):
    assert error_headline(error) == 'ValueError: x'

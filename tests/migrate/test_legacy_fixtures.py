"""Checkpoints written by flax 0.7.5 on orbax-checkpoint 0.4.8, converted and resumed today.

The fixtures (tests/fixtures/legacy, made by make_fixtures.py in a venv with that stack) hold
the same MLP TrainState with Adam at steps 2 and 4, once in Flax's default format of the time
(Orbax < 0.5 aggregate file) and once as msgpack files.
"""

import os
import shutil
import sys
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from flax import serialization
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import ckpt_widgets as cw
from ckpt_widgets import names
from ckpt_widgets.migrate.convert import (
    DestinationNotEmptyError,
    convert_legacy,
    main,
    state_like,
)
from ckpt_widgets.names import detect_format
from ckpt_widgets.read_step import read_legacy_step

LEGACY = Path(__file__).resolve().parents[1] / 'fixtures' / 'legacy'
FIXTURES = ['flax_0.7.5_orbax_0.4.8', 'flax_0.7.5_msgpack']
sys.path.insert(0, str(LEGACY))
from fixture_state import initial_state  # noqa: E402 - from the fixtures folder, on sys.path above


@pytest.fixture(scope='module')
def abstract_state():
    """The state's abstract form, 2-D kernels sharded over a 4x2 mesh of host devices."""
    mesh = Mesh(np.array(jax.devices()).reshape(4, 2), ('data', 'model'))

    def abstract(x):
        if isinstance(x, jax.Array) and x.ndim == 2:
            return jax.ShapeDtypeStruct(x.shape, x.dtype,
                                        sharding=NamedSharding(mesh, PartitionSpec(None, 'model')))
        return ocp.utils.to_shape_dtype_struct(x)

    return jax.tree.map(abstract, initial_state())


def copy_of(name, tmp_path):
    """A writable copy: conversion must leave the committed fixture as it is anyway."""
    return shutil.copytree(LEGACY / name, tmp_path / name)


def restore_all(directory, abstract):
    with ocp.CheckpointManager(directory) as mngr:
        return {step: mngr.restore(step, args=ocp.args.StandardRestore(abstract))
                for step in mngr.all_steps()}


def test_fixtures_are_the_old_formats():
    assert detect_format(LEGACY / 'flax_0.7.5_orbax_0.4.8') == 'orbax-0.4-aggregate'
    assert detect_format(LEGACY / 'flax_0.7.5_msgpack') == 'flax-msgpack'
    assert 'orbax-0.4-aggregate' in names.FORMATS  # the one vocabulary
    for step in (2, 4):
        assert sorted(os.listdir(LEGACY / 'flax_0.7.5_orbax_0.4.8' / f'checkpoint_{step}')) == [
            '_METADATA', 'checkpoint']
        assert (LEGACY / 'flax_0.7.5_msgpack' / f'checkpoint_{step}').is_file()


def test_one_reading_of_both_formats():
    """The aggregate folder and the msgpack file hold the same state; read, they differ only
    where Flax's Orbax backend wrote optax's EmptyState() as None (msgpack: {})."""
    folder = read_legacy_step(LEGACY / 'flax_0.7.5_orbax_0.4.8' / 'checkpoint_4')
    file = read_legacy_step(LEGACY / 'flax_0.7.5_msgpack' / 'checkpoint_4')
    assert folder['opt_state']['1'] is None and file['opt_state']['1'] == {}
    folder['opt_state']['1'] = {}
    assert cw.compare(folder, file).equal
    assert int(file['step']) == 4 and list(file['opt_state']) == ['0', '1']


@pytest.mark.parametrize('name', FIXTURES)
def test_convert_with_like_then_resume_restores_every_step_one_way(tmp_path, name, abstract_state):
    src = copy_of(name, tmp_path)
    dst = tmp_path / 'orbax'
    report = convert_legacy(src, dst, like=abstract_state, progress=False)
    assert report.ok, str(report)
    assert str(report).splitlines()[-2].startswith('Steps hold the TrainState as StandardSave writes it')

    # The user's code resumes: restore the latest step, train, save step 5 with StandardSave.
    with ocp.CheckpointManager(dst) as mngr:
        state = mngr.restore(mngr.latest_step(), args=ocp.args.StandardRestore(abstract_state))
        mngr.save(5, args=ocp.args.StandardSave(state.replace(step=5)))
    restored = restore_all(dst, abstract_state)
    assert sorted(restored) == [2, 4, 5]
    assert [int(s.step) for s in restored.values()] == [2, 4, 5]

    # A converted step restores exactly as the same state saved today with StandardSave.
    reference = tmp_path / 'saved_today'
    with ocp.CheckpointManager(reference) as mngr:
        for step in (2, 4):
            mngr.save(step, args=ocp.args.StandardSave(
                state_like(abstract_state, read_legacy_step(src / f'checkpoint_{step}'))))
    today = restore_all(reference, abstract_state)
    for step in (2, 4):
        assert cw.compare(today[step], restored[step]).equal
    kernel = restored[2].params['Dense_0']['kernel']
    assert kernel.sharding == abstract_state.params['Dense_0']['kernel'].sharding
    assert cw.compare(restored[4].replace(step=5), restored[5]).equal


def test_both_fixtures_convert_to_the_same_train_state(tmp_path, abstract_state):
    converted = {}
    for name in FIXTURES:
        assert convert_legacy(LEGACY / name, tmp_path / name, like=abstract_state,
                              progress=False).ok
        converted[name] = restore_all(tmp_path / name, abstract_state)[4]
    assert cw.compare(*converted.values()).equal


@pytest.mark.parametrize('name', FIXTURES)
def test_without_like_steps_are_the_dashboards_reading_and_a_resume_mixes_structures(
        tmp_path, name, abstract_state):
    dst = tmp_path / 'orbax'
    report = convert_legacy(LEGACY / name, dst, progress=False)
    assert report.ok
    assert 'another structure' in str(report).splitlines()[-2]
    with ocp.CheckpointManager(dst) as mngr:
        converted = mngr.restore(4, args=ocp.args.PyTreeRestore())
    shown = cw.Dashboard(LEGACY / name, prefix='checkpoint_').select(4).restored.tree
    assert cw.compare(shown, converted).equal  # structure included: dicts keyed '0', '1'
    assert list(converted['opt_state']) == ['0', '1']

    # The trap like= avoids: the recipe restores step 4, StandardSave writes step 5, and one
    # StandardRestore no longer restores every step.
    state = initial_state()
    with ocp.CheckpointManager(dst) as mngr:
        restored = mngr.restore(4, args=ocp.args.PyTreeRestore(
            item=serialization.to_state_dict(state)))
    state = serialization.from_state_dict(state, restored)
    with ocp.CheckpointManager(dst) as mngr:
        mngr.save(5, args=ocp.args.StandardSave(state.replace(step=5)))
    with ocp.CheckpointManager(dst) as mngr:
        mngr.restore(5, args=ocp.args.StandardRestore(abstract_state))
    with ocp.CheckpointManager(dst) as mngr, pytest.raises(ValueError, match='opt_state'):
        mngr.restore(4, args=ocp.args.StandardRestore(abstract_state))


def test_like_that_does_not_fit_fails_the_step_and_leaves_nothing(tmp_path):
    state = initial_state()
    no_layer_1 = state.replace(params={'Dense_0': state.params['Dense_0']})  # drops data
    report = convert_legacy(LEGACY / 'flax_0.7.5_msgpack', tmp_path / 'out', like=no_layer_1,
                            progress=False)
    assert [s.status for s in report.steps] == ['failed', 'failed'] and report.exit_code == 1
    assert report.steps[0].detail == 'the step does not fit like=: like= has no /params/Dense_1'
    assert [p for p in os.listdir(tmp_path / 'out') if p != 'flax_conversion.json'] == []


def test_like_shape_mismatch_names_the_leaf():
    like = {'w': jax.ShapeDtypeStruct((3,), np.float32)}
    with pytest.raises(ValueError, match=r"at \['w'\]: the step holds float32\[2\], like= has float32\[3\]"):
        state_like(like, {'w': np.zeros(2, np.float32)})


def test_python_numbers_take_like_dtype_only_when_exact():
    like = {'step': jax.ShapeDtypeStruct((), np.int32), 'lr': jax.ShapeDtypeStruct((), np.float32)}
    placed = state_like(like, {'step': 0, 'lr': 0.5})
    assert (placed['step'].dtype, int(placed['step']), float(placed['lr'])) == (np.int32, 0, 0.5)
    with pytest.raises(ValueError, match=r"at \['lr'\]: the step holds float64"):
        state_like(like, {'step': 0, 'lr': 0.1})  # 0.1 is not a float32


def test_a_conversion_without_like_is_not_resumed_with_like(tmp_path, abstract_state):
    assert convert_legacy(LEGACY / 'flax_0.7.5_msgpack', tmp_path / 'out', progress=False).ok
    with pytest.raises(DestinationNotEmptyError):
        convert_legacy(LEGACY / 'flax_0.7.5_msgpack', tmp_path / 'out', like=abstract_state,
                       progress=False)


def test_command_line_like(tmp_path, monkeypatch, capsys, abstract_state):
    monkeypatch.chdir(LEGACY)  # --like imports from the current directory, as python -m does
    src = LEGACY / 'flax_0.7.5_orbax_0.4.8'
    assert main([str(src), str(tmp_path / 'out'), '--like', 'fixture_state:initial_state',
                 '--no-progress']) == 0
    assert 'Steps hold the TrainState' in capsys.readouterr().out
    assert sorted(restore_all(tmp_path / 'out', abstract_state)) == [2, 4]
    for bad, says in [('fixture_state', 'module:callable'),
                      ('no_such_module:f', 'cannot import no_such_module'),
                      ('fixture_state:missing', 'has no missing')]:
        assert main([str(src), str(tmp_path / bad.replace(':', '_')), '--like', bad]) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1


def test_tree_labels_the_aggregate_file_and_dashboard_asks_for_a_step():
    text = cw.DirectoryTree(LEGACY / 'flax_0.7.5_orbax_0.4.8', expand='all').text
    assert text.count('checkpoint  711 B  [pytree values, Orbax < 0.5 aggregate file]') == 2
    board = cw.Dashboard(LEGACY / 'flax_0.7.5_orbax_0.4.8', prefix='checkpoint_')
    assert board.text.endswith('no step selected: choose a step above')
    assert '(root)' not in board.text

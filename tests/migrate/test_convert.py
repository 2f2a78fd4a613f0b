"""convert_legacy / python -m ckpt_widgets.migrate.convert against checkpoints written by real Flax."""

import hashlib
import json
import logging
import os
import subprocess
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest
from flax import serialization
from flax.training import checkpoints as flax_checkpoints
from flax.training import train_state
from orbax.checkpoint.experimental import v1 as ocp_v1

from ckpt_widgets.migrate import convert
from ckpt_widgets.migrate.convert import DestinationNotEmptyError, convert_legacy, detect_format, main

logging.getLogger('absl').setLevel(logging.ERROR)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOY = [12, {'foo': 'str', 'bar': np.array((2, 3))}, [1, 4, 10]]
TOY_STATE_DICT = {'0': 12, '1': {'bar': np.array((2, 3)), 'foo': 'str'}, '2': {'0': 1, '1': 4, '2': 10}}


class TinyMLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(2)(nn.relu(nn.Dense(4)(x)))


@pytest.fixture(scope='module')
def state():
    model = TinyMLP()
    params = model.init(jax.random.key(0), jnp.ones((1, 3)))['params']
    state = train_state.TrainState.create(apply_fn=model.apply, params=params, tx=optax.adam(1e-2))
    grads = jax.tree.map(jnp.ones_like, params)
    return state.apply_gradients(grads=grads)  # step=1, non-zero Adam moments.


from ckpt_widgets.runtime import flax_msgpack_writer  # noqa: E402


def write_flax_run(directory, state, *, msgpack):
    """Train state at steps 100 and 200, the guide's toy pytree at step 300."""
    with flax_msgpack_writer(msgpack, hide_deprecation=True):
        for step, target in [(100, state), (200, state.replace(step=2)), (300, TOY)]:
            flax_checkpoints.save_checkpoint(str(directory), target, step, keep=10)
    return directory


def tree_checksum(root):
    """Digest of every path, file content and mtime under root."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        digest.update(os.path.relpath(dirpath, root).encode())
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            digest.update(name.encode() + str(os.stat(path).st_mtime_ns).encode())
            with open(path, 'rb') as f:
                digest.update(f.read())
    return digest.hexdigest()


def restore_step(dst, step):
    with ocp.CheckpointManager(str(dst)) as manager:
        return manager.restore(step, args=ocp.args.PyTreeRestore())


def assert_trees_identical(expected, actual):
    assert convert.tree_differences(expected, actual) == []


@pytest.mark.parametrize('msgpack', [True, False], ids=['flax-msgpack', 'flax-orbax'])
def test_every_step_converts_verifies_and_restores_into_the_train_state(tmp_path, state, msgpack):
    src = write_flax_run(tmp_path / 'flax', state, msgpack=msgpack)
    before = tree_checksum(src)

    report = convert_legacy(src, tmp_path / 'orbax', progress=False)

    assert tree_checksum(src) == before
    expected_format = 'flax-msgpack' if msgpack else 'flax-orbax'
    assert report.source_format == expected_format
    assert [(s.step, s.source, s.status) for s in report.steps] == [
        (100, 'checkpoint_100', 'converted'),
        (200, 'checkpoint_200', 'converted'),
        (300, 'checkpoint_300', 'converted'),
    ]
    assert report.exit_code == 0 and report.skipped == []
    assert sorted(os.listdir(tmp_path / 'orbax')) == ['100', '200', '300', 'flax_conversion.json']
    assert_trees_identical(TOY_STATE_DICT, restore_step(tmp_path / 'orbax', 300))
    # The converted tree is Flax's state dict: from_state_dict rebuilds the TrainState.
    # Restoring into the state dict's shape keeps empty nodes (optax EmptyState), which
    # Flax's Orbax backend wrote as None.
    target = serialization.to_state_dict(state)
    with ocp.CheckpointManager(str(tmp_path / 'orbax')) as manager:
        restored = manager.restore(200, args=ocp.args.PyTreeRestore(item=target))
    restored = serialization.from_state_dict(state, restored)
    assert int(restored.step) == 2
    for want, got in zip(jax.tree.leaves(state.replace(step=2)), jax.tree.leaves(restored), strict=False):
        np.testing.assert_array_equal(np.asarray(want), np.asarray(got))
        assert np.asarray(want).dtype == np.asarray(got).dtype
    # Same as what flax itself restores from the source, leaf for leaf.
    legacy = flax_checkpoints.restore_checkpoint(str(src), None, step=100)
    assert_trees_identical(
        convert.orbax_ready_state_dict(
            jax.tree.map(lambda x: np.asarray(x) if isinstance(x, jax.Array) else x, legacy)),
        restore_step(tmp_path / 'orbax', 100),
    )


def test_report_text_lists_each_step(tmp_path, state):
    src = write_flax_run(tmp_path / 'flax', state, msgpack=True)
    text = str(convert_legacy(src, tmp_path / 'orbax', progress=False))
    lines = text.splitlines()
    assert lines[0] == f'{src} (flax-msgpack) -> {tmp_path / "orbax"}'
    assert lines[1].split() == ['step', 'source', 'format', 'size', 'result']
    assert lines[2].startswith('100   checkpoint_100  flax-msgpack')
    assert 'converted, verified (' in lines[2]
    assert lines[-1] == '3 converted, 0 already converted, 0 failed, 0 entries skipped'
    # One line on how the steps restore, and that StandardSave would write another structure.
    assert lines[-2].startswith("Steps hold Flax's state dict") and 'like=' in lines[-2]


def test_truncated_msgpack_and_corrupt_orbax_steps_are_reported_and_others_convert(tmp_path, state):
    src = tmp_path / 'flax'
    write_flax_run(src, state, msgpack=True)
    with flax_msgpack_writer(False, hide_deprecation=True):
        flax_checkpoints.save_checkpoint(str(src), TOY, 400, keep=10)
    with open(src / 'checkpoint_200', 'r+b') as f:
        f.truncate(100)
    (src / 'checkpoint_400' / 'manifest.ocdbt').write_bytes(b'garbage')
    before = tree_checksum(src)

    report = convert_legacy(src, tmp_path / 'orbax', progress=False)

    assert tree_checksum(src) == before
    assert report.source_format == 'flax-mixed'
    assert [(s.step, s.status) for s in report.steps] == [
        (100, 'converted'), (200, 'failed'), (300, 'converted'), (400, 'failed')]
    bad_msgpack, bad_orbax = report.steps[1].detail, report.steps[3].detail
    assert bad_msgpack.startswith(f'{src}/checkpoint_200: not a readable Flax msgpack checkpoint (100 bytes)')
    assert bad_orbax.startswith(f'{src}/checkpoint_400: not a readable Flax Orbax checkpoint')
    assert 'manifest.ocdbt' in bad_orbax
    assert report.exit_code == 1
    assert sorted(os.listdir(tmp_path / 'orbax')) == ['100', '300', 'flax_conversion.json']


def test_non_empty_destination_is_refused_and_left_alone(tmp_path, state):
    src = write_flax_run(tmp_path / 'flax', state, msgpack=True)
    dst = tmp_path / 'orbax'
    dst.mkdir()
    (dst / 'notes.txt').write_text('mine')
    with pytest.raises(DestinationNotEmptyError, match='destination is not empty: .* holds 1 entries; .*--force'):
        convert_legacy(src, dst, progress=False)
    assert os.listdir(dst) == ['notes.txt']
    report = convert_legacy(src, dst, overwrite=True, progress=False)
    assert report.exit_code == 0
    assert sorted(os.listdir(dst)) == ['100', '200', '300', 'flax_conversion.json', 'notes.txt']
    assert (dst / 'notes.txt').read_text() == 'mine'


def test_destination_holding_another_conversion_is_refused(tmp_path, state):
    write_flax_run(tmp_path / 'a', state, msgpack=True)
    write_flax_run(tmp_path / 'b', state, msgpack=True)
    convert_legacy(tmp_path / 'a', tmp_path / 'orbax', progress=False)
    with pytest.raises(DestinationNotEmptyError, match='holds a conversion of another source'):
        convert_legacy(tmp_path / 'b', tmp_path / 'orbax', progress=False)


def test_rerun_skips_verified_steps_and_redoes_unrecorded_or_changed_ones(tmp_path, state):
    src = write_flax_run(tmp_path / 'flax', state, msgpack=True)
    dst = tmp_path / 'orbax'
    convert_legacy(src, dst, progress=False)
    untouched = os.stat(dst / '100' / '_CHECKPOINT_METADATA').st_mtime_ns
    # Interrupted after writing step 300 but before recording it as verified:
    ledger = json.loads((dst / 'flax_conversion.json').read_text())
    del ledger['steps']['300']
    (dst / 'flax_conversion.json').write_text(json.dumps(ledger))
    # ... and step 200 was rewritten in the source since.
    # (Written directly: flax's overwrite=True would also delete the newer step 300.)
    (src / 'checkpoint_200').write_bytes(serialization.to_bytes(TOY))

    report = convert_legacy(src, dst, progress=False)

    assert [(s.step, s.status) for s in report.steps] == [
        (100, 'already converted'), (200, 'converted'), (300, 'converted')]
    assert os.stat(dst / '100' / '_CHECKPOINT_METADATA').st_mtime_ns == untouched
    assert_trees_identical(TOY_STATE_DICT, restore_step(dst, 200))
    assert report.exit_code == 0
    assert [s.status for s in convert_legacy(src, dst, progress=False).steps] == ['already converted'] * 3


def test_odd_names_in_source_are_reported_not_guessed(tmp_path, state):
    src = tmp_path / 'flax'
    with flax_msgpack_writer(True, hide_deprecation=True):
        flax_checkpoints.save_checkpoint(str(src), TOY, 7, keep=10)
    (src / 'checkpoint_tmp').write_bytes(b'half a save')
    (src / 'checkpoint_1.5').write_bytes((src / 'checkpoint_7').read_bytes())
    (src / 'checkpoint_007').write_bytes((src / 'checkpoint_7').read_bytes())
    (src / 'checkpoint_best').write_text('link to 7')
    (src / 'checkpoint_9.orbax-checkpoint-tmp-1234').mkdir()
    (src / 'checkpoint_11').mkdir()
    (src / 'notes.txt').write_text('lr=1e-3')
    (src / '.DS_Store').write_bytes(b'\0')
    before = tree_checksum(src)

    report = convert_legacy(src, tmp_path / 'orbax', progress=False)

    assert tree_checksum(src) == before
    assert [(s.step, s.source, s.status) for s in report.steps] == [(7, 'checkpoint_007', 'converted')]
    assert [(e.name, e.reason, e.is_error) for e in report.skipped] == [
        ('.DS_Store', 'hidden entry', False),
        ('checkpoint_1.5', "step '1.5' is not an integer >= 0; Orbax steps are, so it is not converted", True),
        ('checkpoint_11', 'directory is not an Orbax checkpoint (no _METADATA or manifest.ocdbt)', True),
        ('checkpoint_7', 'duplicate step 7 (also checkpoint_007); not converted', True),
        ('checkpoint_9.orbax-checkpoint-tmp-1234', 'unfinished Orbax save (temporary directory)', False),
        ('checkpoint_best', 'no step number after the prefix', False),
        ('checkpoint_tmp', 'unfinished Flax save (never renamed to a step)', False),
        ('notes.txt', "name does not start with 'checkpoint_'", False),
    ]
    assert report.exit_code == 1  # Three Flax-looking steps were not converted.
    assert 'NOT CONVERTED: step' in str(report)


def test_custom_prefix(tmp_path):
    src = tmp_path / 'flax'
    with flax_msgpack_writer(True, hide_deprecation=True):
        flax_checkpoints.save_checkpoint(str(src), TOY, 4, prefix='test_')
    report = convert_legacy(src, tmp_path / 'orbax', prefix='test_', progress=False)
    assert [(s.step, s.source) for s in report.steps] == [(4, 'test_4')]
    no_steps = convert_legacy(src, tmp_path / 'other', progress=False)
    assert no_steps.steps == [] and no_steps.exit_code == 1
    assert str(no_steps).endswith('(no Flax steps found: is the prefix right?)')


@pytest.mark.parametrize(
    'make, error, fragment',
    [
        (lambda p: p / 'missing', FileNotFoundError, 'source directory does not exist: '),
        (lambda p: (p / 'file').write_text('x') and p / 'file', NotADirectoryError,
         'source is a file, not a directory'),
    ],
)
def test_bad_source_is_refused(tmp_path, make, error, fragment):
    with pytest.raises(error, match=fragment):
        convert_legacy(make(tmp_path), tmp_path / 'orbax', progress=False)
    assert not (tmp_path / 'orbax').exists()


def test_destination_inside_source_is_refused(tmp_path, state):
    src = write_flax_run(tmp_path / 'flax', state, msgpack=True)
    before = tree_checksum(src)
    with pytest.raises(ValueError, match='must not contain each other'):
        convert_legacy(src, src / 'converted', progress=False)
    assert tree_checksum(src) == before


def test_orbax_directory_is_not_converted_again(tmp_path, state):
    src = write_flax_run(tmp_path / 'flax', state, msgpack=True)
    convert_legacy(src, tmp_path / 'orbax', progress=False)
    with pytest.raises(ValueError, match=r'already an Orbax directory \(orbax-manager\)'):
        convert_legacy(tmp_path / 'orbax', tmp_path / 'again', progress=False)


def test_a_step_that_fails_verification_is_removed_from_destination(tmp_path, state, monkeypatch):
    src = write_flax_run(tmp_path / 'flax', state, msgpack=True)
    monkeypatch.setattr(convert, 'tree_differences', lambda a, b: ["at ['0']: expected 12, got 13"])
    report = convert_legacy(src, tmp_path / 'orbax', progress=False)
    assert {s.status for s in report.steps} == {'failed'}
    assert report.steps[0].detail == (
        "verification failed, step removed from DST: at ['0']: expected 12, got 13")
    assert sorted(os.listdir(tmp_path / 'orbax')) == []


def test_tree_differences_is_bitwise_and_checks_types():
    assert convert.tree_differences({'a': np.float32(-0.0) * np.ones(1, np.float32)},
                                    {'a': np.zeros(1, np.float32)}) == [
        "at ['a']: expected ndarray float32[1], got ndarray float32[1]"]
    assert convert.tree_differences({'a': 1}, {'a': 1.0}) == ["at ['a']: expected int 1, got float 1.0"]
    assert convert.tree_differences({'a': float('nan')}, {'a': float('nan')}) == []
    assert convert.tree_differences({'a': 1}, {'b': 1})[0].startswith('tree structure differs')


def test_no_progress_output_when_stderr_is_not_a_terminal(tmp_path, state, capsys):
    src = write_flax_run(tmp_path / 'flax', state, msgpack=True)
    convert_legacy(src, tmp_path / 'orbax', progress=True)
    assert capsys.readouterr().err == ''


def test_detect_format(tmp_path, state):
    (tmp_path / 'empty').mkdir()
    write_flax_run(tmp_path / 'msgpack', state, msgpack=True)
    write_flax_run(tmp_path / 'flax_orbax', state, msgpack=False)
    write_flax_run(tmp_path / 'mixed', state, msgpack=True)
    with flax_msgpack_writer(False, hide_deprecation=True):
        flax_checkpoints.save_checkpoint(str(tmp_path / 'mixed'), TOY, 400, keep=10)
    convert_legacy(tmp_path / 'msgpack', tmp_path / 'manager', progress=False)
    with ocp_v1.training.Checkpointer(tmp_path / 'v1') as checkpointer:
        checkpointer.save(0, {'a': np.ones(2)})
    (tmp_path / 'unknown').mkdir()
    (tmp_path / 'unknown' / 'notes.txt').write_text('x')
    found = {name: detect_format(tmp_path / name) for name in
             ['empty', 'msgpack', 'flax_orbax', 'mixed', 'manager', 'v1', 'unknown']}
    assert found == {
        'empty': 'empty', 'msgpack': 'flax-msgpack', 'flax_orbax': 'flax-orbax',
        'mixed': 'flax-mixed', 'manager': 'orbax-manager', 'v1': 'orbax-v1', 'unknown': 'unknown',
    }
    with pytest.raises(FileNotFoundError, match='no such directory'):
        detect_format(tmp_path / 'missing')
    with pytest.raises(NotADirectoryError, match='not a directory'):
        detect_format(tmp_path / 'unknown' / 'notes.txt')


def test_main_exit_codes_and_messages(tmp_path, state, capsys):
    src = write_flax_run(tmp_path / 'flax', state, msgpack=True)
    assert main([str(tmp_path / 'missing'), str(tmp_path / 'out')]) == 2
    assert capsys.readouterr().err == f'convert: error: source directory does not exist: {tmp_path / "missing"}\n'
    assert main([str(src), str(tmp_path / 'out'), '--no-progress']) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == '3 converted, 0 already converted, 0 failed, 0 entries skipped'
    (tmp_path / 'full').mkdir()
    (tmp_path / 'full' / 'x').write_text('x')
    assert main([str(src), str(tmp_path / 'full')]) == 2
    assert 'destination is not empty' in capsys.readouterr().err
    assert main([str(src), str(tmp_path / 'full'), '--force']) == 0


def test_command_line_help_and_a_failing_run(tmp_path, state):
    src = write_flax_run(tmp_path / 'flax', state, msgpack=True)
    (src / 'checkpoint_200').write_bytes(b'\xc1 not msgpack')
    env = dict(os.environ, PYTHONPATH=REPO)
    run = lambda *args: subprocess.run(  # noqa: E731 - a one-line helper
        [sys.executable, '-m', 'ckpt_widgets.migrate.convert', *args],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    helped = run('--help')
    assert helped.returncode == 0
    assert 'SRC' in helped.stdout and '--force' in helped.stdout and '--prefix' in helped.stdout
    result = run(str(src), str(tmp_path / 'orbax'))
    assert result.returncode == 1
    assert result.stderr == ''  # No progress bar off a terminal, no absl noise.
    assert 'checkpoint_200  flax-msgpack' in result.stdout
    assert result.stdout.splitlines()[-1] == '2 converted, 0 already converted, 1 failed, 0 entries skipped'

"""exercises: the checker accepts the reference solutions and rejects typical wrong answers,
each with the hint that names the mistake. Every answer here runs for real."""

import os
import subprocess
import sys
import textwrap

import orbax.checkpoint as ocp
import orbax.checkpoint.experimental.v1 as ocp_v1
import pytest
from flax.training import checkpoints

from ckpt_widgets import runtime
from ckpt_widgets import workshop as ex
from ckpt_widgets.migrate.retention import FlaxRetention
from ckpt_widgets.workshop.simulate import (  # the typical answers the simulated room gives
    array_standard_save,
    array_wrapped_in_dict,
    async_blocking_save,
    async_keeps_everything,
    loop_keep_period,
    orbax_async_training_loop,
    orbax_restore_latest,
    orbax_save_and_load,
    orbax_single_array,
    pure_relative_path,
    pure_without_force,
    restore_first_step,
    restore_without_args,
)


@pytest.fixture(scope='module', autouse=True)
def private_workdirs(tmp_path_factory):
    """The checker's folders (cw.workdir) go to pytest's temp dir, not a new /tmp/ckpt-lab-*."""
    with runtime.workdir_base_at(tmp_path_factory.mktemp('exercises')) as base:
        yield base


# --- reference solutions (the same as notebook 12) ------------------------------------------

def flax_like_options(prefix='test'):
    return ocp.CheckpointManagerOptions(
        step_prefix=prefix, preservation_policy=FlaxRetention(keep=3, keep_every_n_steps=2))


def orbax_training_loop(ckpt_dir, tree, steps):
    with ocp.CheckpointManager(os.path.abspath(ckpt_dir), options=flax_like_options()) as mngr:
        for step in steps:
            mngr.save(step, args=ocp.args.PyTreeSave(tree))


def v1_single_array(ckpt_dir, arr):
    ocp_v1.save(ckpt_dir / 'arr', arr)
    return ocp_v1.load(ckpt_dir / 'arr')


SOLUTIONS = [
    ('training_loop', orbax_training_loop),
    ('pure_save_load', orbax_save_and_load),
    ('restore_without_target', orbax_restore_latest),
    ('async_save', orbax_async_training_loop),
    ('single_array', orbax_single_array),
    ('single_array', v1_single_array),
]


# --- typical wrong answers -------------------------------------------------------------------

def loop_relative_path(ckpt_dir, tree, steps):
    with ocp.CheckpointManager(ckpt_dir, options=flax_like_options()) as mngr:
        for step in steps:
            mngr.save(step, args=ocp.args.PyTreeSave(tree))


def loop_prefix_with_underscore(ckpt_dir, tree, steps):
    with ocp.CheckpointManager(os.path.abspath(ckpt_dir),
                               options=flax_like_options(prefix='test_')) as mngr:
        for step in steps:
            mngr.save(step, args=ocp.args.PyTreeSave(tree))


def loop_without_waiting(ckpt_dir, tree, steps):
    mngr = ocp.CheckpointManager(os.path.abspath(ckpt_dir), options=flax_like_options())
    for step in steps:
        mngr.save(step, args=ocp.args.PyTreeSave(tree))


def pure_standard_checkpointer(ckpt_dir, tree, target):
    path = os.path.abspath(ckpt_dir)
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(path, tree, force=True)
        return ckptr.restore(path, target)


def restore_with_flax(ckpt_dir):
    with ocp.CheckpointManager(ckpt_dir) as mngr:
        step = mngr.latest_step()
    return checkpoints.restore_checkpoint(os.path.join(ckpt_dir, str(step), 'default'), target=None)


def async_without_waiting(ckpt_dir, params, steps, train_step):
    mngr = ocp.CheckpointManager(ckpt_dir, options=ocp.CheckpointManagerOptions(max_to_keep=2))
    for step in steps:
        params = train_step(params)
        mngr.save(step, args=ocp.args.StandardSave(params))


def async_sync_checkpointer(ckpt_dir, params, steps, train_step):
    ckptr = ocp.Checkpointer(ocp.StandardCheckpointHandler())
    for step in steps:
        params = train_step(params)
        ckptr.save(ckpt_dir / str(step), args=ocp.args.StandardSave(params))


def array_legacy_call(ckpt_dir, arr):
    checkpoints.save_checkpoint(ckpt_dir, arr, step=0)
    return checkpoints.restore_checkpoint(ckpt_dir, target=None)


WRONG = [
    ('training_loop', loop_relative_path,
     'your directory is relative: Orbax needs an absolute path'),
    ('training_loop', loop_keep_period,
     'you kept steps [0, 2, 3, 4]; Flax kept [1, 2, 3, 4]: keep_period is not '
     'keep_every_n_steps (see 06: FlaxRetention)'),
    ('training_loop', loop_prefix_with_underscore,
     "your step folders are named test__4; Flax names them test_4: Orbax adds the underscore, "
     "use step_prefix='test'"),
    ('training_loop', loop_without_waiting,
     'you forgot to wait for the async save: step 4 is still test_4.orbax-checkpoint-tmp '
     '(call wait_until_finished() or use `with`)'),
    ('pure_save_load', pure_standard_checkpointer, 'StandardSave refuses str leaves: use PyTreeSave'),
    ('pure_save_load', pure_without_force, "Flax's overwrite=True is Orbax's force=True"),
    ('pure_save_load', pure_relative_path, 'your directory is relative: Orbax needs an absolute path'),
    ('restore_without_target', restore_without_args,
     'you restored without args: a fresh CheckpointManager does not know what item "default" '
     'holds'),
    ('restore_without_target', restore_with_flax,
     "your restore turned the list into a dict with keys '0', '1', ..."),
    ('restore_without_target', restore_first_step,
     'you restored step 0; restore_checkpoint restores the latest step (2)'),
    ('async_save', async_without_waiting,
     'you forgot to wait for the async save: step 2 is still 2.orbax-checkpoint-tmp'),
    ('async_save', async_blocking_save,
     "your save blocked the loop for as long as a synchronous save: use CheckpointManager's "
     'async save'),
    ('async_save', async_sync_checkpointer, 'your save blocked the loop'),
    ('async_save', async_keeps_everything, 'you kept steps [0, 1, 2]; Flax kept [1, 2]'),
    ('single_array', array_standard_save,
     'StandardSave refuses a single array: use ocp.args.ArraySave / ArrayRestore'),
    ('single_array', array_wrapped_in_dict, 'you returned a dict, not the array'),
    ('single_array', array_legacy_call, "today's Flax refuses a bare array"),
]


def assert_deterministic_text(verdict):
    text = verdict.text
    assert str(runtime.workdir_base()) not in text and '/tmp' not in text, text
    assert not any(unit in text for unit in (' ms', ' s)', 'seconds')), text
    bundle = verdict._repr_mimebundle_()
    assert bundle['text/plain'] == text and bundle['text/html'].startswith('<div')


@pytest.mark.parametrize('name, fn', SOLUTIONS, ids=[fn.__name__ for _, fn in SOLUTIONS])
def test_the_reference_solutions_pass(name, fn):
    verdict = ex.check_exercise(name, fn)
    assert verdict.passed, verdict.text
    assert verdict.text.startswith('✓ ') and bool(verdict)
    assert_deterministic_text(verdict)


@pytest.mark.parametrize('name, fn, hint', WRONG, ids=[fn.__name__ for _, fn, _ in WRONG])
def test_typical_mistakes_fail_with_their_hint(name, fn, hint):
    verdict = ex.check_exercise(name, fn)
    assert verdict.status == 'failed' and not verdict, verdict.text
    assert verdict.text.startswith('✗ ') and hint in verdict.message, verdict.text
    assert_deterministic_text(verdict)


def test_the_guides_after_gets_both_of_its_mistakes():
    def guides_after(ckpt_dir, tree, steps):
        options = ocp.CheckpointManagerOptions(max_to_keep=3, keep_period=2, step_prefix='test_')
        with ocp.CheckpointManager(os.path.abspath(ckpt_dir), options=options) as mngr:
            for step in steps:
                mngr.save(step, args=ocp.args.PyTreeSave(tree))

    lines = ex.check_training_loop(guides_after).text.splitlines()
    assert 'keep_period is not keep_every_n_steps' in lines[0]
    assert lines[1].startswith('  also: your step folders are named test__4')


def test_stubs_are_not_attempted_and_run_nothing(private_workdirs):
    def orbax_training_loop(ckpt_dir, tree, steps):
        """Docstring."""
        ...  # your code here

    def pass_stub(ckpt_dir, arr):
        pass

    def raising_stub(ckpt_dir):
        raise NotImplementedError('later')

    for check, fn in ((ex.check_training_loop, orbax_training_loop),
                      (ex.check_single_array, pass_stub),
                      (ex.check_restore_without_target, raising_stub)):
        verdict = check(fn)
        assert verdict.status == 'not attempted' and not verdict.attempted
        assert verdict.message.startswith('not attempted yet: ') and fn.__name__ in verdict.message
    text = ex.check_training_loop(orbax_training_loop).text
    assert text == ('○ Exercise 1 · training loop: not attempted yet: replace the `...` in '
                    '`orbax_training_loop` with your Orbax code, then run this cell again')


def test_is_stub_tells_a_placeholder_from_an_attempt():
    def stub(x):
        """Only a docstring and an ellipsis."""
        ...

    def returns_none(x):
        return None

    def attempt(x):
        return x

    assert ex.is_stub(stub) and ex.is_stub(returns_none)
    assert not ex.is_stub(attempt) and not ex.is_stub(lambda x: x) and not ex.is_stub(print)


def test_an_unknown_error_is_reported_as_raised_without_paths():
    def broken(ckpt_dir, arr):
        raise FileNotFoundError(f'{ckpt_dir}/nowhere')

    verdict = ex.check_single_array(broken)
    assert verdict.message == 'your function raised FileNotFoundError: exercise_5_yours/nowhere'


def test_legacy_source_is_the_code_the_checker_runs():
    assert ex.legacy_source('training_loop').startswith('def legacy_training_loop(')
    assert "prefix='test_', keep=3, keep_every_n_steps=2" in ex.legacy_source('training_loop')
    with pytest.raises(KeyError, match='no exercise'):
        ex.check_exercise('nope', print)


def test_a_failed_manager_save_warns_about_the_exit_hang(tmp_path):
    """StandardSave of a str leaf through a CheckpointManager often leaves an Orbax thread
    waiting that blocks interpreter exit (a race: not every time), so this one runs in a child
    that ends with os._exit. The note is there exactly when the thread is still waiting."""
    script = textwrap.dedent(f'''
        import os
        os.environ['CKPT_LAB_WORKDIR'] = {str(tmp_path)!r}
        import ckpt_widgets as cw
        cw.use_host_devices(8)
        cw.quiet_logs()
        import orbax.checkpoint as ocp
        from ckpt_widgets import workshop as ex
        from ckpt_widgets.workshop import harness
        from ckpt_widgets.migrate.retention import FlaxRetention

        def loop_standard_save(ckpt_dir, tree, steps):
            options = ocp.CheckpointManagerOptions(
                step_prefix='test', preservation_policy=FlaxRetention(keep=3, keep_every_n_steps=2))
            with ocp.CheckpointManager(os.path.abspath(ckpt_dir), options=options) as mngr:
                for step in steps:
                    mngr.save(step, args=ocp.args.StandardSave(tree))

        import time
        print(ex.check_training_loop(loop_standard_save).text)
        time.sleep(1)
        print('still waiting:', bool(harness.signal_threads()), flush=True)
        os._exit(0)  # the waiting thread would hold a normal exit for minutes
    ''')
    child = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                           timeout=120)
    lines = child.stdout.splitlines()
    assert child.returncode == 0, child.stderr[-2000:]
    assert lines[0].startswith('✗ Exercise 1 · training loop: StandardSave refuses str leaves'), lines
    stuck = lines[-1] == 'still waiting: True'
    assert lines[-1] in ('still waiting: True', 'still waiting: False'), lines
    assert (('  ' + ex.EXIT_HANG_NOTE) in lines) == stuck, lines

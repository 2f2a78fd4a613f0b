"""failure_noise: leftovers of a failed restore never reach a later cell's stderr."""

import asyncio
import gc
import logging
import sys
import time
import types
import warnings

import jax.numpy as jnp
import orbax.checkpoint as ocp
import pytest

from ckpt_widgets import failure_noise

logging.getLogger('absl').setLevel(logging.ERROR)


@pytest.fixture
def hooks():
    """Our hook on top of a collector; everything restored afterwards."""
    passed_on = []
    old_hook = sys.unraisablehook
    logger = logging.getLogger('asyncio')
    old_filters = list(logger.filters)
    sys.unraisablehook = passed_on.append
    with warnings.catch_warnings():  # restores the warning filters afterwards
        failure_noise.ignore_failed_read_leftovers()
        try:
            yield passed_on
        finally:
            sys.unraisablehook = old_hook
            logger.filters[:] = old_filters


def _coroutine_from(filename):
    namespace = {}
    exec(compile('async def read():\n  pass\n', filename, 'exec'), namespace)
    return namespace['read']()


def test_orbax_coroutines_are_dropped_others_passed_on(hooks):
    orbax_coro = _coroutine_from('/venv/site-packages/orbax/checkpoint/serialization.py')
    mine = _coroutine_from('/home/me/train.py')
    try:
        sys.unraisablehook(types.SimpleNamespace(object=orbax_coro))
        sys.unraisablehook(types.SimpleNamespace(object=mine))
        sys.unraisablehook(types.SimpleNamespace(object=print))
    finally:
        orbax_coro.close()
        mine.close()
    assert [u.object for u in hooks] == [mine, print]


def test_installing_twice_stacks_nothing(hooks):
    hook = sys.unraisablehook
    failure_noise.ignore_failed_read_leftovers()
    assert sys.unraisablehook is hook
    assert logging.getLogger('asyncio').filters.count(failure_noise._FILTER) == 1


def test_only_never_retrieved_tensorstore_errors_are_filtered(hooks, caplog):
    logger = logging.getLogger('asyncio')

    def log(message, error):
        try:
            raise error
        except Exception:  # pylint: disable=broad-except
            logger.error(message, exc_info=True)

    with caplog.at_level(logging.ERROR, logger='asyncio'):
        log('Task exception was never retrieved', ValueError('DATA_LOSS: Error reading'))
        log('Task exception was never retrieved', ValueError('my own bug'))
        log('Exception in callback', ValueError('OUT_OF_RANGE: x'))
    assert [(r.getMessage(), str(r.exc_info[1])) for r in caplog.records] == [
        ('Task exception was never retrieved', 'my own bug'),
        ('Exception in callback', 'OUT_OF_RANGE: x'),
    ]


def test_real_failed_restore_in_a_running_loop_leaves_nothing(hooks, tmp_path):
    # As in a notebook kernel: a running loop makes orbax use its own loop thread. Whether a
    # leftover appears at all is a race (about half the runs); none may get through.
    directory = tmp_path / 'ckpt'
    with ocp.CheckpointManager(directory) as mgr:
        mgr.save(1, args=ocp.args.StandardSave(
            {'w': jnp.arange(12.0).reshape(3, 4), 'b': jnp.ones(3)}))

    async def cell():
        with pytest.raises(ValueError, match=r'Requested shape: \(4, 3\)'):
            with ocp.CheckpointManager(directory) as mgr:
                mgr.restore(1, args=ocp.args.StandardRestore(
                    {'w': jnp.zeros((4, 3)), 'b': jnp.ones(3)}))

    for _ in range(3):
        asyncio.run(cell())
    time.sleep(0.3)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        gc.collect()
    assert hooks == []


def test_never_awaited_orbax_coroutines_are_not_warned(hooks):
    with warnings.catch_warnings(record=True) as seen:
        warnings.warn("coroutine '_read_array_index_and_device_put' was never awaited",
                      RuntimeWarning, stacklevel=1)
        warnings.warn("coroutine 'Store._get_array_metadatas' was never awaited", RuntimeWarning, stacklevel=1)
        warnings.warn("coroutine 'my_training_step' was never awaited", RuntimeWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == [
        "coroutine 'my_training_step' was never awaited"]


def test_swallowed_drops_stderr_then_restores_it(capsys):
    with failure_noise.swallowed():
        print('noise', file=sys.stderr)
        print('shown')
    print('after', file=sys.stderr)
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ('shown\n', 'after\n')


def test_swallowed_lets_exceptions_through():
    with pytest.raises(KeyError, match='boom'):
        with failure_noise.swallowed():
            raise KeyError('boom')



def _unraisable_from(function):
    try:
        function()
    except RuntimeError as e:
        return types.SimpleNamespace(exc_type=RuntimeError, exc_value=e, err_msg=None,
                                     exc_traceback=e.__traceback__, object=None)


def test_closed_loop_callbacks_are_dropped_and_other_errors_passed_on(hooks):
    def call_soon_threadsafe():  # where uvloop/asyncio raise it for tensorstore's callback
        raise RuntimeError('Event loop is closed')

    def elsewhere():
        raise RuntimeError('Event loop is closed')

    sys.unraisablehook(_unraisable_from(call_soon_threadsafe))
    assert hooks == []
    report = _unraisable_from(elsewhere)
    sys.unraisablehook(report)
    assert hooks == [report]

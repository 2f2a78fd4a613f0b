"""show_deprecation_events: prints silent deprecation events once each, and cleans up."""

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp
import pytest

from ckpt_widgets.deprecation_events import show_deprecation_events


def test_prints_each_deprecation_once_and_ignores_other_events(capsys):
    with show_deprecation_events() as names:
        jax.monitoring.record_event('/jax/demo/deprecation/old_call')
        jax.monitoring.record_event('/jax/demo/write/start')
        jax.monitoring.record_event('/jax/demo/deprecation/old_call')
    assert names == ['/jax/demo/deprecation/old_call'] * 2
    assert capsys.readouterr().out == 'deprecation event: /jax/demo/deprecation/old_call\n'


def test_listener_is_removed_even_when_the_block_raises(capsys):
    with pytest.raises(RuntimeError):
        with show_deprecation_events() as names:
            raise RuntimeError('boom')
    jax.monitoring.record_event('/jax/demo/deprecation/after')
    assert names == []
    assert capsys.readouterr().out == ''


def test_orbax_legacy_checkpointer_args_are_seen_and_args_style_is_not(tmp_path):
    arr = jnp.arange(3)
    with ocp.Checkpointer(ocp.ArrayCheckpointHandler()) as ckptr:
        with show_deprecation_events() as legacy:
            ckptr.save(tmp_path / 'legacy', arr)
        with show_deprecation_events() as modern:
            ckptr.save(tmp_path / 'modern', args=ocp.args.ArraySave(arr))
    assert legacy == ['/jax/orbax/deprecation/checkpointer_legacy_args']
    assert modern == []

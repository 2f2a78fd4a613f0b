"""FlaxRetention keeps exactly what flax's save_checkpoint keeps, checked against real runs."""

import contextlib
import logging
import os
import shutil

import flax
import hypothesis
import numpy as np
import orbax.checkpoint as ocp
import pytest
from flax.training import checkpoints as flax_checkpoints
from hypothesis import strategies as st
from orbax.checkpoint.experimental import v1 as ocp_v1

from ckpt_widgets.migrate.retention import FlaxRetention, flax_kept_steps, flax_survivors

logging.getLogger('absl').setLevel(logging.ERROR)

TINY_TREE = {'w': np.arange(3, dtype=np.float32)}


from ckpt_widgets.runtime import flax_msgpack_writer  # noqa: E402


def steps_left_by_flax(directory, steps, keep, n, *, msgpack=True):
    """Runs the real flax save_checkpoint for each step; returns steps on disk."""
    backend = flax_msgpack_writer(True, hide_deprecation=True) if msgpack else contextlib.nullcontext()
    with backend:
        for step in steps:
            flax_checkpoints.save_checkpoint(
                str(directory), TINY_TREE, step, keep=keep, keep_every_n_steps=n
            )
    names = sorted(os.listdir(directory))
    assert all(name.startswith('checkpoint_') for name in names), names
    return sorted(int(name.removeprefix('checkpoint_')) for name in names)


def steps_left_by_orbax(directory, steps, policy):
    options = ocp.CheckpointManagerOptions(
        preservation_policy=policy, enable_async_checkpointing=False
    )
    with ocp.CheckpointManager(str(directory), options=options) as manager:
        for step in steps:
            assert manager.save(step, args=ocp.args.PyTreeSave(TINY_TREE))
        reported = list(manager.all_steps())
    on_disk = sorted(int(name) for name in os.listdir(directory))
    assert reported == on_disk
    return on_disk


increasing_steps = st.lists(
    st.integers(min_value=0, max_value=40), min_size=1, max_size=12, unique=True
).map(sorted)
keeps = st.integers(min_value=1, max_value=4)
intervals = st.none() | st.integers(min_value=1, max_value=6)


@hypothesis.settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
@hypothesis.given(steps=increasing_steps, keep=keeps, n=intervals)
def test_flax_dir_equals_pure_function_equals_orbax_with_flax_retention(
    tmp_path_factory, steps, keep, n
):
    root = tmp_path_factory.mktemp('retention')
    try:
        flax_dir, orbax_dir = root / 'flax', root / 'orbax'
        flax_dir.mkdir()
        by_flax = steps_left_by_flax(flax_dir, steps, keep, n)
        assert flax_kept_steps(steps, keep, n) == by_flax
        policy = FlaxRetention(keep=keep, keep_every_n_steps=n)
        assert steps_left_by_orbax(orbax_dir, steps, policy) == by_flax
    finally:
        shutil.rmtree(root)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    steps=st.lists(st.integers(0, 10_000), max_size=40, unique=True).map(sorted),
    keep=st.integers(0, 6),
    n=st.none() | st.integers(0, 500),
)
def test_explain_names_exactly_the_steps_one_cleanup_keeps(steps, keep, n):
    policy = FlaxRetention(keep=keep, keep_every_n_steps=n)
    reasons = policy.explain(steps)
    assert sorted(reasons) == flax_survivors(steps, keep, n)
    # Once cleaned up, a second pass changes nothing: calling the policy again is safe.
    kept = flax_kept_steps(steps, keep, n)
    assert flax_survivors(kept, keep, n) == kept
    assert set(reasons.values()) <= {
        f'latest {keep}', f'every {n} steps', 'keep=0: Flax deletes nothing'
    }


@pytest.mark.parametrize(
    'steps, keep, n, expected',
    [
        # FINDINGS.md, measured with flax 0.12.8: not what orbax keep_period keeps.
        (range(5), 3, 2, [1, 2, 3, 4]),
        (range(20), 3, 2, [1, 3, 5, 7, 9, 11, 13, 15, 17, 18, 19]),
        (range(0, 1000, 100), 2, 250, [100, 400, 700, 800, 900]),
        ([0, 1, 5, 6, 7, 30, 31], 2, 5, [1, 6, 30, 31]),
        ([0, 1, 2], 1, None, [2]),
        ([0, 1, 2], 0, 5, [0, 1, 2]),
    ],
)
def test_known_sequences_match_real_flax_and_orbax(tmp_path, steps, keep, n, expected):
    steps = list(steps)
    (tmp_path / 'flax').mkdir()
    assert steps_left_by_flax(tmp_path / 'flax', steps, keep, n) == expected
    assert flax_kept_steps(steps, keep, n) == expected
    policy = FlaxRetention(keep=keep, keep_every_n_steps=n)
    assert steps_left_by_orbax(tmp_path / 'orbax', steps, policy) == expected


def test_flax_orbax_backend_keeps_the_same_set(tmp_path):
    # Flax's default backend (Orbax dirs) runs the same cleanup as msgpack files.
    assert flax.config.flax_use_orbax_checkpointing
    steps = list(range(6))
    on_disk = steps_left_by_flax(tmp_path, steps, 2, 2, msgpack=False)
    assert on_disk == [1, 3, 4, 5] == flax_kept_steps(steps, 2, 2)


def test_orbax_builtin_policies_keep_a_different_set(tmp_path):
    builtin = ocp.checkpoint_managers.AnyPreservationPolicy([
        ocp.checkpoint_managers.LatestN(3),
        ocp.checkpoint_managers.EveryNSteps(2),
    ])
    assert steps_left_by_orbax(tmp_path, range(5), builtin) == [0, 2, 3, 4]


def test_v1_training_checkpointer_keeps_flax_set(tmp_path):
    policies = ocp_v1.training.save_decision_policies
    with ocp_v1.training.Checkpointer(
        tmp_path,
        save_decision_policy=policies.FixedIntervalPolicy(1),
        preservation_policy=FlaxRetention(keep=3, keep_every_n_steps=2),
    ) as checkpointer:
        for step in range(8):
            assert checkpointer.save(step, TINY_TREE)
        kept = [info.step for info in checkpointer.checkpoints]
    assert kept == [1, 3, 5, 6, 7] == flax_kept_steps(range(8), 3, 2)
    assert sorted(int(name) for name in os.listdir(tmp_path)) == kept


def test_reopened_manager_continues_flax_retention(tmp_path):
    # Resuming training: a new manager reads the steps on disk, as flax re-lists the dir.
    policy = FlaxRetention(keep=2, keep_every_n_steps=3)
    steps_left_by_orbax(tmp_path, range(5), policy)
    assert steps_left_by_orbax(tmp_path, range(5, 9), policy) == flax_kept_steps(range(9), 2, 3)


def test_explain_reasons_for_findings_example():
    reasons = FlaxRetention(keep=3, keep_every_n_steps=2).explain([0, 1, 2, 3, 4])
    assert reasons == {1: 'every 2 steps', 2: 'latest 3', 3: 'latest 3', 4: 'latest 3'}
    # Order of the input does not matter: the view may pass steps unsorted.
    assert FlaxRetention(keep=1).explain([7, 3]) == {7: 'latest 1'}


@pytest.mark.parametrize(
    'kwargs, error, fragment',
    [
        ({'keep': -1}, ValueError, 'keep must be an int >= 0'),
        ({'keep': 2.5}, ValueError, 'keep must be an int >= 0'),
        ({'keep_every_n_steps': -3}, ValueError, 'keep_every_n_steps must be None'),
    ],
)
def test_bad_options_are_refused(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        FlaxRetention(**kwargs)
    with pytest.raises(error, match=fragment):
        flax_kept_steps([1, 2], **kwargs)


@pytest.mark.parametrize(
    'steps, error, fragment',
    [
        ([1, 1], ValueError, 'strictly increasing, got 1 after 1'),
        ([3, 2], ValueError, 'strictly increasing, got 2 after 3'),
        ([-1, 2], ValueError, 'must be >= 0, got -1'),
        ([1.5], TypeError, 'must be integers'),
    ],
)
def test_bad_steps_are_refused(steps, error, fragment):
    with pytest.raises(error, match=fragment):
        flax_kept_steps(steps, keep=1)

"""examples: the train state every notebook saves, and its one compiled training step."""

import jax
import numpy as np

from ckpt_widgets.lab import examples


def _train(state, steps=2):
    for _ in range(steps):
        state = examples.train_step(state)
    return jax.block_until_ready(state)


def test_every_state_reuses_the_compiled_train_step():
    # A new model class or optax.adam per state made jit compile again for each (0.8 s).
    _train(examples.train_state())
    compiled = examples._jitted_train_step()._cache_size()
    _train(examples.train_state(seed=1))
    _train(examples.train_state())
    assert examples._jitted_train_step()._cache_size() == compiled


def test_states_of_one_seed_are_equal_and_training_changes_them():
    a, b = examples.train_state(), examples.train_state()
    assert jax.tree.structure(a) == jax.tree.structure(b)
    assert all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))
    trained = _train(a)
    assert int(trained.step) == 2
    assert not np.array_equal(trained.params['params']['Dense_0']['kernel'],
                              a.params['params']['Dense_0']['kernel'])

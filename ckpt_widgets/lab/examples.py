"""The data every notebook checkpoints: the classic guide's toy pytree and a real train state.

>>> state = train_state()
>>> int(state.step), sorted(state.params['params'])
(0, ['Dense_0', 'Dense_1'])
"""

from __future__ import annotations

import functools
import os

import numpy as np

# The classic guide's pytree, string leaf and all, and the target it restores into.
GUIDE_PYTREE = [12, {'foo': 'str', 'bar': np.array((2, 3))}, [1, 4, 10]]
GUIDE_TARGET = [0, {'foo': '', 'bar': np.array((0))}, [0, 0, 0]]


def train_state(seed: int = 0, features: tuple[int, ...] = (32, 4), input_size: int = 8,
                learning_rate: float = 1e-3):
    """A Flax `TrainState` of a small MLP with Adam: step, params and optax optimizer state.

    That is what a training loop checkpoints; `apply_fn` and `tx` are static fields, so they
    are not part of the checkpoint. Deterministic for a given seed.
    """
    import jax.numpy as jnp
    from flax.training import train_state as flax_train_state

    model, tx = _model_and_optimizer(tuple(features), learning_rate)
    # The same parameter tree `model.init` builds, drawn with numpy: `init` traces the model
    # eagerly, which costs seconds of a learner's time in every notebook.
    rng = np.random.default_rng(seed)
    layers, fan_in = {}, input_size
    for i, width in enumerate(features):
        layers[f'Dense_{i}'] = {
            'kernel': jnp.asarray(rng.normal(size=(fan_in, width)) / np.sqrt(fan_in), jnp.float32),
            'bias': jnp.zeros((width,), jnp.float32)}
        fan_in = width
    return flax_train_state.TrainState.create(apply_fn=model.apply, params={'params': layers}, tx=tx)


@functools.lru_cache(maxsize=None)
def _model_and_optimizer(features: tuple[int, ...], learning_rate: float):
    """One model and one optimizer per configuration, shared by every state made with it.

    `apply_fn` and `tx` are static fields of a `TrainState`, part of its tree structure: a new
    model class or a new `optax.adam` per state would make `jax.jit` compile `train_step`
    again for every state (0.8 s each, measured), where equal ones reuse the compiled step.
    """
    import optax
    from flax import linen as nn

    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            for i, width in enumerate(features):
                x = nn.Dense(width)(x)
                if i < len(features) - 1:
                    x = nn.relu(x)
            return x

    return MLP(), optax.adam(learning_rate)


def saved_step(directory, step: int = 1) -> str:
    """Saves ``{'w': float32 (3, 4)}`` as ``step`` with a CheckpointManager; returns the step dir.

    The small real checkpoint the damage and target drills of notebook 09 start from.

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     'default' in os.listdir(saved_step(tmp))
        True
    """
    import orbax.checkpoint as ocp

    with ocp.CheckpointManager(os.fspath(directory)) as mgr:
        mgr.save(step, args=ocp.args.StandardSave({'w': np.arange(12, dtype=np.float32).reshape(3, 4)}))
        mgr.wait_until_finished()
    return os.path.join(os.fspath(directory), str(step))


def train_step(state, seed: int = 0):
    """One jitted, deterministic Adam step on random regression data; returns the new state."""
    return _jitted_train_step()(state, seed)


_JITTED = None


def _jitted_train_step():
    global _JITTED
    if _JITTED is None:
        import jax
        import jax.numpy as jnp

        def step(state, seed):
            key = jax.random.fold_in(jax.random.key(seed), state.step)
            key_x, key_y = jax.random.split(key)
            x = jax.random.normal(key_x, (16, 8))
            y = jax.random.normal(key_y, (16, 4))

            def loss(params):
                return jnp.mean((state.apply_fn(params, x)[:, :4] - y) ** 2)

            return state.apply_gradients(grads=jax.grad(loss)(state.params))

        _JITTED = jax.jit(step)
    return _JITTED

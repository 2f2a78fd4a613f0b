"""Flax's retention as an Orbax preservation policy (see `ckpt_widgets.compat`).

The path code rewritten by `ckpt-lab migrate-code` imports `FlaxRetention` from.

>>> FlaxRetention(keep=3, keep_every_n_steps=2).kept_steps([0, 1, 2, 3, 4])
[1, 2, 3, 4]
"""

from ckpt_widgets.compat import FlaxRetention, flax_kept_steps, flax_survivors

__all__ = ['FlaxRetention', 'flax_kept_steps', 'flax_survivors']

"""The migration room: from legacy Flax checkpoints (files and code) to today's Orbax.

- `retention`: Flax's `keep` / `keep_every_n_steps` as an Orbax preservation policy;
- `code`: `ckpt-lab migrate-code`, the libcst rewriter of `flax.training.checkpoints` calls;
- `cli`: the `ckpt-lab` command line (`python -m ckpt_widgets`).
"""

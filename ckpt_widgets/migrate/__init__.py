"""The migrate room: what moving from flax.training.checkpoints to Orbax needs.

- `retention`: `FlaxRetention`, Flax's keep / keep_every_n_steps rule as an Orbax policy;
- `legacy`: reading legacy Flax checkpoint folders (`detect_format`, `LegacyStep`);
- `convert`: the converter (`convert_legacy`) and its `ckpt-convert` command
  (`python -m ckpt_widgets.migrate.convert`, also `ckpt-lab convert`);
- `code`: `ckpt-lab migrate-code`, the libcst rewriter of `flax.training.checkpoints` calls;
- `step_metadata`: one step's leaves from Orbax metadata (`ckpt-lab inspect`);
- `cli`: the `ckpt-lab` command line (`python -m ckpt_widgets`).

May import the top level of `ckpt_widgets` (the views and their pipeline), never another
room; the top level never imports this room.
"""

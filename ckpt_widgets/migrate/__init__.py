"""The migrate room: what moving from flax.training.checkpoints to Orbax needs.

- `retention`: `FlaxRetention`, Flax's keep / keep_every_n_steps rule as an Orbax policy;
- `legacy`: reading legacy Flax checkpoint folders (`detect_format`, `LegacyStep`);
- `convert`: the converter (`convert_legacy`) and its `ckpt-convert` command
  (`python -m ckpt_widgets.migrate.convert`).

May import the top level of `ckpt_widgets` (the views and their pipeline), never another
room; the top level never imports this room.
"""

"""The lab room: one drill module per notebook, behind the notebooks' experiments.

- `examples`: the example pytrees and train states of the notebooks;
- `async_watch` (04): what an async save looks like on disk while it runs;
- `multiprocess` + `multiprocess_worker` (08): real multi-process saves on one machine;
- `failures` (09): crashes, damage, restore targets, the exit hang;
- `costs` (10): what each way of saving costs.

May import the top level of `ckpt_widgets` (the views and their pipeline), never another
room; the top level never imports this room. Import drills by name
(`from ckpt_widgets.lab import costs`): nothing is imported here.
"""

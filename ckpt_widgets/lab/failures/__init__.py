"""The failures of notebook 09, each a real run: `crashes` (SIGKILL mid-save, through the
`crash_child` training process), `corruption` (damage functions and what each restore API
makes of them), `targets` (restoring into a target that does not fit) and `exit_hang` (a
failed save that keeps the interpreter from exiting).

Part of the lab room: may import the top level of `ckpt_widgets`, never another room.
"""

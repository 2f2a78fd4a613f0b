"""The workshop room: what the checker's verdicts leave behind, and the instructor's board.

- `hints`: the checker's hint table (a stable key per mistake, what the board and the
  instructor say about it);
- `progress`: recording each verdict to a per-learner JSON-lines file (`CKPT_LAB_PROGRESS`);
- `board`: `ClassBoard`, the live learners x exercises view over such a folder;
- `simulate`: a simulated room of learners running the real checker, for the demo and tests.

The views at the top level of `ckpt_widgets` never import this room.
"""

"""A simulated room: learners who make the usual mistakes, then fix them, on the real checker.

`run_room(folder, learners=12)` starts one background process per learner (its own
`CKPT_LAB_LEARNER`, `CKPT_LAB_WORKDIR`, and `CKPT_LAB_PROGRESS=folder`). Each process runs
the real checker of `ckpt_widgets.workshop` on a fixed plan: for each exercise, zero to two
typical wrong answers (the mistakes of notebook 12), then the solution; every fourth learner
gets stuck on one exercise and stops there. Bounded: after `seconds`, every learner still
running is killed by its PID (its own process group), and `run_room` says how many were.

`sample_room(folder)` writes a fixed room (no processes, no JAX): what notebook 14 and the
tests show a board of. Command line (prints one line, exit 2 on bad arguments):

    python -m ckpt_widgets.workshop.simulate PROGRESS_DIR [--learners 12] [--seconds 300]

>>> plan(3, ('training_loop', 'pure_save_load'))  # every fourth learner gets stuck
[('orbax_training_loop', 'training_loop'), ('pure_relative_path', 'pure_save_load')]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from ckpt_widgets.lab.child import Child, kill_all

from . import progress

LEARNERS = ('ada', 'alan', 'barbara', 'claude', 'donald', 'edsger', 'frances', 'grace',
            'john', 'katherine', 'ken', 'margaret')
MODULE = 'ckpt_widgets.workshop.simulate'  # not __name__: that is '__main__' under -m
EXERCISE_ORDER = ('training_loop', 'pure_save_load', 'restore_without_target', 'async_save',
                  'single_array')


# --- the answers (the solutions and usual mistakes of notebook 12) --------------------------
# They import Orbax inside, so that this module stays light for `sample_room` and the board.

def _options(prefix='test'):
    import orbax.checkpoint as ocp

    from ckpt_widgets.migrate.retention import FlaxRetention
    return ocp.CheckpointManagerOptions(
        step_prefix=prefix, preservation_policy=FlaxRetention(keep=3, keep_every_n_steps=2))


def orbax_training_loop(ckpt_dir, tree, steps):
    import orbax.checkpoint as ocp
    with ocp.CheckpointManager(os.path.abspath(ckpt_dir), options=_options()) as mngr:
        for step in steps:
            mngr.save(step, args=ocp.args.PyTreeSave(tree))


def loop_relative_path(ckpt_dir, tree, steps):
    import orbax.checkpoint as ocp
    with ocp.CheckpointManager(ckpt_dir, options=_options()) as mngr:
        for step in steps:
            mngr.save(step, args=ocp.args.PyTreeSave(tree))


def loop_keep_period(ckpt_dir, tree, steps):
    import orbax.checkpoint as ocp
    options = ocp.CheckpointManagerOptions(max_to_keep=3, keep_period=2, step_prefix='test')
    with ocp.CheckpointManager(os.path.abspath(ckpt_dir), options=options) as mngr:
        for step in steps:
            mngr.save(step, args=ocp.args.PyTreeSave(tree))


def loop_prefix_with_underscore(ckpt_dir, tree, steps):
    import orbax.checkpoint as ocp
    with ocp.CheckpointManager(os.path.abspath(ckpt_dir), options=_options('test_')) as mngr:
        for step in steps:
            mngr.save(step, args=ocp.args.PyTreeSave(tree))


def orbax_save_and_load(ckpt_dir, tree, target):
    import orbax.checkpoint as ocp
    path = os.path.abspath(ckpt_dir)
    with ocp.PyTreeCheckpointer() as ckptr:
        ckptr.save(path, args=ocp.args.PyTreeSave(tree), force=True)
        return ckptr.restore(path, args=ocp.args.PyTreeRestore(target))


def pure_without_force(ckpt_dir, tree, target):
    import orbax.checkpoint as ocp
    path = os.path.abspath(ckpt_dir)
    with ocp.PyTreeCheckpointer() as ckptr:
        ckptr.save(path, args=ocp.args.PyTreeSave(tree))
        return ckptr.restore(path, args=ocp.args.PyTreeRestore(target))


def pure_relative_path(ckpt_dir, tree, target):
    import orbax.checkpoint as ocp
    with ocp.PyTreeCheckpointer() as ckptr:
        ckptr.save(ckpt_dir, args=ocp.args.PyTreeSave(tree), force=True)
        return ckptr.restore(ckpt_dir, args=ocp.args.PyTreeRestore(target))


def orbax_restore_latest(ckpt_dir):
    import orbax.checkpoint as ocp
    with ocp.CheckpointManager(ckpt_dir) as mngr:
        return mngr.restore(mngr.latest_step(), args=ocp.args.PyTreeRestore())


def restore_without_args(ckpt_dir):
    import orbax.checkpoint as ocp
    with ocp.CheckpointManager(ckpt_dir) as mngr:
        return mngr.restore(mngr.latest_step())


def restore_first_step(ckpt_dir):
    import orbax.checkpoint as ocp
    with ocp.CheckpointManager(ckpt_dir) as mngr:
        return mngr.restore(mngr.all_steps()[0], args=ocp.args.PyTreeRestore())


def orbax_async_training_loop(ckpt_dir, params, steps, train_step):
    import orbax.checkpoint as ocp
    options = ocp.CheckpointManagerOptions(preservation_policy=ocp.checkpoint_managers.LatestN(2))
    with ocp.CheckpointManager(ckpt_dir, options=options) as mngr:
        for step in steps:
            params = train_step(params)
            mngr.save(step, args=ocp.args.StandardSave(params))


def async_blocking_save(ckpt_dir, params, steps, train_step):
    import orbax.checkpoint as ocp
    options = ocp.CheckpointManagerOptions(max_to_keep=2, enable_async_checkpointing=False)
    with ocp.CheckpointManager(ckpt_dir, options=options) as mngr:
        for step in steps:
            params = train_step(params)
            mngr.save(step, args=ocp.args.StandardSave(params))


def async_keeps_everything(ckpt_dir, params, steps, train_step):
    import orbax.checkpoint as ocp
    with ocp.CheckpointManager(ckpt_dir) as mngr:
        for step in steps:
            params = train_step(params)
            mngr.save(step, args=ocp.args.StandardSave(params))


def orbax_single_array(ckpt_dir, arr):
    import orbax.checkpoint as ocp
    with ocp.Checkpointer(ocp.ArrayCheckpointHandler()) as ckptr:
        ckptr.save(ckpt_dir / 'arr', args=ocp.args.ArraySave(arr))
        return ckptr.restore(ckpt_dir / 'arr', args=ocp.args.ArrayRestore())


def array_wrapped_in_dict(ckpt_dir, arr):
    import orbax.checkpoint as ocp
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(ckpt_dir / 'arr', {'x': arr})
        return ckptr.restore(ckpt_dir / 'arr')


def array_standard_save(ckpt_dir, arr):
    import orbax.checkpoint as ocp
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(ckpt_dir / 'arr', arr)
        return ckptr.restore(ckpt_dir / 'arr')


def untouched_stub(*args):
    """The exercise cell run before any edit: the checker says "not attempted"."""


SOLUTIONS = {'training_loop': orbax_training_loop, 'pure_save_load': orbax_save_and_load,
             'restore_without_target': orbax_restore_latest,
             'async_save': orbax_async_training_loop, 'single_array': orbax_single_array}
# Mistakes that end cleanly (none leaves a save thread that would hold the process at exit).
MISTAKES = {
    'training_loop': (loop_keep_period, loop_prefix_with_underscore, loop_relative_path),
    'pure_save_load': (pure_without_force, pure_relative_path),
    'restore_without_target': (restore_without_args, restore_first_step),
    'async_save': (async_blocking_save, async_keeps_everything),
    'single_array': (array_wrapped_in_dict, array_standard_save),
}
# What the checker answers to each mistake (tests/workshop/test_simulate.py runs the real
# checker on every one and compares), for `sample_room`, which runs no checker.
ANSWERS = {
    'loop_keep_period': ('keep-period', ('you kept steps [0, 2, 3, 4]; Flax kept [1, 2, 3, 4]: '
                         'keep_period is not keep_every_n_steps (see 06: FlaxRetention)')),
    'loop_prefix_with_underscore': ('step-prefix', ('your step folders are named test__4; Flax '
                                    "names them test_4: Orbax adds the underscore, use "
                                    "step_prefix='test'")),
    'loop_relative_path': ('relative-path', ('your directory is relative: Orbax needs an '
                           'absolute path (os.path.abspath(ckpt_dir))')),
    'pure_without_force': ('needs-force', ('your second save to the same path failed (it '
                           "already exists): Flax's overwrite=True is Orbax's force=True")),
    'pure_relative_path': ('relative-path', ('your directory is relative: Orbax needs an '
                           'absolute path (os.path.abspath(ckpt_dir))')),
    'restore_without_args': ('restore-without-args', ('you restored without args: a fresh '
                             'CheckpointManager does not know what item "default" holds (Orbax '
                             'warned "could not be restored"): pass args=ocp.args.PyTreeRestore()')),
    'restore_first_step': ('not-latest-step', ('you restored step 0; restore_checkpoint restores '
                           'the latest step (2): use mngr.latest_step()')),
    'async_blocking_save': ('blocking-save', ('your save blocked the loop for as long as a '
                            "synchronous save: use CheckpointManager's async save (and wait "
                            'once, after the loop)')),
    'async_keeps_everything': ('retention', ('you kept steps [0, 1, 2]; Flax kept [1, 2]: '
                               'keep=2 keeps the newest 2 (preservation_policy=LatestN(2), or '
                               'max_to_keep=2)')),
    'array_wrapped_in_dict': ('wrapped-array', ('you returned a dict, not the array: the legacy '
                              'code got the bare array back; save it with ArraySave instead of '
                              'wrapping it')),
    'array_standard_save': ('array-standard-save', ('StandardSave refuses a single array: use '
                            'ocp.args.ArraySave / ArrayRestore (or ocp_v1.save / ocp_v1.load)')),
}


def learner_names(count: int) -> tuple[str, ...]:
    """`count` learner names: the dozen of `LEARNERS`, then learner012, learner013, ..."""
    return tuple(LEARNERS[i] if i < len(LEARNERS) else f'learner{i:03d}' for i in range(count))


def plan(index: int, exercises: tuple[str, ...] = EXERCISE_ORDER) -> list[tuple[str, str]]:
    """The answers learner `index` submits, in order: (function name, exercise).

    For exercise j: sometimes the untouched stub first ((index + j) % 5 == 0), then
    (index + j) % 3 wrong answers (half the room starts with the most common mistake), then
    the solution. Every fourth learner (index % 4 == 3) gets stuck on exercise
    index % len(exercises) and stops there.
    """
    steps = []
    stuck_at = index % len(exercises) if index % 4 == 3 else None
    for j, exercise in enumerate(exercises):
        mistakes = MISTAKES[exercise]
        if (index + j) % 5 == 0:
            steps.append((untouched_stub.__name__, exercise))
        wrong = (index + j) % 3 if stuck_at != j else max(1, (index + j) % 3)
        for k in range(wrong):
            steps.append((mistakes[(k + index % 2) % len(mistakes)].__name__, exercise))
        if stuck_at == j:
            break
        steps.append((SOLUTIONS[exercise].__name__, exercise))
    return steps


# --- one learner (a child process) ------------------------------------------------------------

def _learner_main(index: int, exercises: tuple[str, ...], pause: float) -> int:
    """Run learner `index`'s plan on the real checker (recording from the environment)."""
    import ckpt_widgets as cw
    cw.setup(devices=8)
    from ckpt_widgets import workshop as ex

    for name, exercise in plan(index, exercises):
        ex.check_exercise(exercise, globals()[name])
        time.sleep(pause)  # the learner reads the hint and edits the cell
    sys.stdout.flush()
    os._exit(0)  # a failed save may leave an Orbax thread that would hold a normal exit


# --- the room ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RoomResult:
    """How a simulated room ended: learners that finished their plan, and the ones killed."""

    learners: int
    finished: int
    killed: int
    failed: int  # exited with an error
    pids: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        plural = 's' if self.learners != 1 else ''
        return (f'{self.learners} learner{plural}: {self.finished} finished, {self.killed} stopped at '
                f'the time limit, {self.failed} failed')


def run_room(folder: str | os.PathLike, *, learners: int = 12, seconds: float = 300,
             exercises: tuple[str, ...] = EXERCISE_ORDER, pause: float = 0.5,
             stagger: float = 0.5, first: int = 0) -> RoomResult:
    """Run `learners` simulated learners against the real checker, recording into `folder`.

    Learners start `stagger` seconds apart (indices `first`, `first + 1`, ...). Returns when
    all have finished, or after `seconds`, when the rest are killed with their process group
    (`lab.child`, each learner in a group of its own). Every child is stopped on every path
    (an exception or Ctrl-C here included). Their checkpoint folders live in a temp folder,
    removed at the end.
    """
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    unknown = sorted(set(exercises) - set(EXERCISE_ORDER))
    if unknown:
        raise ValueError(f'unknown exercises {unknown}; there are {list(EXERCISE_ORDER)}')
    scratch = Path(tempfile.mkdtemp(prefix='ckpt-lab-room-'))
    learners_run: list[Child] = []
    deadline = time.monotonic() + seconds
    killed = 0
    try:
        for index, name in list(enumerate(learner_names(first + learners)))[first:]:
            env = {**os.environ, progress.ENV_FOLDER: str(folder), progress.ENV_LEARNER: name,
                   'CKPT_LAB_WORKDIR': str(scratch / name)}
            env.pop('MPLBACKEND', None)  # a notebook's inline backend is not importable here
            learners_run.append(Child(
                [sys.executable, '-m', MODULE, '--learner-index', str(index),
                 '--exercises', ','.join(exercises), '--pause', str(pause)], env=env))
            if time.monotonic() + stagger < deadline:
                time.sleep(stagger)
        for learner in learners_run:
            if learner.wait(max(0.0, deadline - time.monotonic())) is None:
                killed += 1
                learner.kill()
    finally:
        kill_all(learners_run)  # the ones still running (an exception, Ctrl-C); reaps them all
        shutil.rmtree(scratch, ignore_errors=True)
    failed = sum(c.returncode not in (0, -signal.SIGKILL) for c in learners_run)
    return RoomResult(len(learners_run), len(learners_run) - killed - failed, killed, failed,
                      tuple(c.pid for c in learners_run))


# --- a fixed room, for the notebook and the tests ---------------------------------------------

SAMPLE_NOW = 1764835200.0  # the sample room's "now" (2025-12-04 08:00 UTC)


def sample_room(folder: str | os.PathLike, learners: int = 12, *,
                now: float = SAMPLE_NOW) -> Path:
    """Write a fixed room into `folder`, as it stands in the middle of a session: each
    learner's plan (see `plan`) cut at a point of its own, recorded as the checker would
    have, one check a minute, the last one (4 x index) % 15 minutes before `now` (so some
    learners are idle). No JAX, no processes: it takes a moment.

    >>> import tempfile; folder = sample_room(tempfile.mkdtemp(), learners=2)
    >>> sorted(p.name for p in folder.iterdir())
    ['ada.jsonl', 'alan.jsonl']
    """
    folder = Path(folder)
    for index, name in enumerate(learner_names(learners)):
        steps = plan(index)
        steps = steps[:max(1, len(steps) * ((index * 7) % 12 + 2) // 13)]
        end = now - 60 * ((4 * index) % 15)
        for n, (answer, exercise) in enumerate(steps):
            key, hint = ANSWERS.get(answer, ('', ''))
            status = ('not attempted' if answer == untouched_stub.__name__
                      else 'failed' if key else 'passed')
            rec = progress.make_record(exercise=exercise, status=status, hint=hint,
                                       hint_key=key, learner=name,
                                       time=end - 60 * (len(steps) - 1 - n))
            progress.append(folder, name, progress.encode(rec))
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m ckpt_widgets.workshop.simulate',
        description='A simulated room of learners running the real checker into PROGRESS_DIR.')
    parser.add_argument('progress_dir', nargs='?')
    parser.add_argument('--learners', type=int, default=12)
    parser.add_argument('--seconds', type=float, default=300)
    parser.add_argument('--pause', type=float, default=0.5)
    parser.add_argument('--exercises', default=','.join(EXERCISE_ORDER))
    parser.add_argument('--learner-index', type=int, help=argparse.SUPPRESS)
    parser.error = lambda message: (print(f'simulate: {message}', file=sys.stderr),
                                    sys.exit(2))  # one line, no usage block
    args = parser.parse_args(argv)
    exercises = tuple(e for e in args.exercises.split(',') if e)
    if not exercises or set(exercises) - set(EXERCISE_ORDER):
        parser.error(f'--exercises takes names from {",".join(EXERCISE_ORDER)}')
    if args.learner_index is not None:
        return _learner_main(args.learner_index, exercises, args.pause)
    if not args.progress_dir:
        parser.error('give the progress folder to record into (PROGRESS_DIR)')
    if args.learners < 1 or args.seconds <= 0:
        parser.error('--learners and --seconds must be positive')
    result = run_room(args.progress_dir, learners=args.learners, seconds=args.seconds,
                      exercises=exercises, pause=args.pause)
    print(result.text)
    return 0 if result.failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())

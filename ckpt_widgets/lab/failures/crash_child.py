"""A training process that saves every step and can be frozen right after a save.

This file runs as a child process (``python -P crash_child.py ...``) for
:mod:`ckpt_widgets.lab.failures.crashes`; the parent kills it with SIGKILL to simulate a
crash. It also exports :func:`expected_tree`, the values step ``s`` must hold,
so the parent can check a restored step bit for bit.

Protocol on stdout, one line per event, flushed at once:

* ``SAVE_RETURNED <step> <tmp_present 0|1>``: ``save()`` of that step returned
  (the commit still runs in a background thread).
* ``COMMITTED <step>``: ``wait_until_finished()`` returned, the step is final.

With ``--freeze-after-save K`` the child stops itself with SIGSTOP right after
``SAVE_RETURNED K``: every thread halts mid-commit, so the parent can look at
the disk and then kill at an exact, repeatable point.

Example::

    >>> tree = expected_tree(3, size=4)
    >>> tree['params']['w'].tolist()
    [3.0, 3.5, 4.0, 4.5]
"""

import argparse
import logging
import os
import signal
import sys

import numpy as np

from ckpt_widgets.names import TMP_SUFFIX


def expected_tree(step: int, size: int) -> dict:
    """Returns the pytree the child saves at ``step``: every value depends on it.

    Example::

        >>> expected_tree(1, size=2)['params']['b'].tolist()
        [1, 1, 1]
    """
    return {
        'params': {
            'w': np.arange(size, dtype=np.float32) * np.float32(0.5)
            + np.float32(step),
            'b': np.full((3,), step, dtype=np.int32),
        },
        # int32, not int64: jax without x64 would narrow it on the way to disk.
        'step': np.asarray(step, dtype=np.int32),
    }


def _emit(line: str) -> None:
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--directory', required=True)
    parser.add_argument('--steps', type=int, required=True)
    parser.add_argument('--first-step', type=int, default=0)
    parser.add_argument('--size', type=int, required=True)
    parser.add_argument('--freeze-after-save', type=int, default=None)
    args = parser.parse_args(argv)

    logging.getLogger('absl').setLevel(logging.ERROR)
    import jax  # pylint: disable=g-import-not-at-top
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    mgr = ocp.CheckpointManager(
        args.directory, options=ocp.CheckpointManagerOptions()
    )
    for step in range(args.first_step, args.first_step + args.steps):
        # Device arrays, as in training: the async save copies them off-device
        # before save() returns and writes them in the background.
        tree = jax.tree.map(jax.numpy.asarray, expected_tree(step, args.size))
        mgr.save(step, args=ocp.args.StandardSave(tree))
        tmp_present = os.path.isdir(
            os.path.join(args.directory, f'{step}{TMP_SUFFIX}')
        )
        _emit(f'SAVE_RETURNED {step} {int(tmp_present)}')
        if step == args.freeze_after_save:
            # Halts all threads of this process, the background commit included.
            os.kill(os.getpid(), signal.SIGSTOP)
        mgr.wait_until_finished()
        _emit(f'COMMITTED {step}')
    mgr.close()


if __name__ == '__main__':
    main()

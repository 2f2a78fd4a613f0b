"""Flax's checkpoint retention (`keep`, `keep_every_n_steps`), reproduced exactly for Orbax.

Orbax's built-in policies do not reproduce Flax's set: `EveryNSteps(n)` keeps
`step % n == 0`, while Flax keeps a step when it is at least `n` after the last
step it kept (counting from the oldest survivor) and never keeps step 0 for the
interval rule, because `flax.training.checkpoints._remove_invalid_ckpts` tests
`if step_number and ...`. After steps 0..4 with `keep=3, keep_every_n_steps=2`,
Flax keeps {1, 2, 3, 4}; Orbax `LatestN(3)` + `EveryNSteps(2)` keeps {0, 2, 3, 4}.

    >>> flax_kept_steps(range(5), keep=3, keep_every_n_steps=2)
    [1, 2, 3, 4]

`FlaxRetention` is an Orbax preservation policy that keeps exactly that set:

    ocp.CheckpointManagerOptions(
        preservation_policy=FlaxRetention(keep=3, keep_every_n_steps=2))
"""

from __future__ import annotations

import dataclasses
import operator
from typing import Any, Iterable, Sequence

__all__ = ['FlaxRetention', 'flax_kept_steps', 'flax_survivors']


def _validated_steps(steps: Iterable[int]) -> list[int]:
    """Returns `steps` as a list of ints, or raises if they are not increasing >= 0."""
    result = []
    for step in steps:
        try:
            step = operator.index(step)
        except TypeError:
            raise TypeError(
                f'steps must be integers (Orbax step numbers), got {step!r}'
            ) from None
        if step < 0:
            raise ValueError(f'steps must be >= 0, got {step}')
        if result and step <= result[-1]:
            raise ValueError(
                f'steps must be strictly increasing, got {step} after {result[-1]}'
            )
        result.append(step)
    return result


def _validate_options(keep: Any, keep_every_n_steps: Any) -> None:
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise ValueError(f'keep must be an int >= 0, got {keep!r}')
    n = keep_every_n_steps
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise ValueError(f'keep_every_n_steps must be None or an int >= 0, got {n!r}')


def _cleanup_decisions(
    on_disk: Sequence[int], keep: int, keep_every_n_steps: int | None
) -> dict[int, str | None]:
    """One pass of Flax's cleanup: step -> reason it survives, or None if deleted.

    Mirrors `_remove_invalid_ckpts` (flax 0.12.8) line by line: only the files
    before the newest `keep` are candidates (`files[:-keep]`, so keep=0 deletes
    nothing), `last_kept` restarts at -inf on every call, and a falsy step (0)
    never qualifies for the interval rule.
    """
    decisions: dict[int, str | None] = {}
    old = list(on_disk[:-keep]) if len(on_disk) > keep else []
    last_kept = -float('inf')
    for step in old:
        if keep_every_n_steps and step and step - last_kept >= keep_every_n_steps:
            decisions[step] = f'every {keep_every_n_steps} steps'
            last_kept = step
        else:
            decisions[step] = None
    latest_reason = f'latest {keep}' if keep else 'keep=0: Flax deletes nothing'
    for step in on_disk:
        decisions.setdefault(step, latest_reason)
    return decisions


def flax_survivors(
    on_disk: Iterable[int], keep: int = 1, keep_every_n_steps: int | None = None
) -> list[int]:
    """Returns the steps one Flax save leaves, given the steps on disk right after it.

    This is a single cleanup pass; `flax_kept_steps` applies it after every save.

    >>> flax_survivors([0, 1, 2, 3, 4], keep=3, keep_every_n_steps=2)
    [1, 2, 3, 4]
    """
    _validate_options(keep, keep_every_n_steps)
    steps = _validated_steps(on_disk)
    decisions = _cleanup_decisions(steps, keep, keep_every_n_steps)
    return [s for s in steps if decisions[s] is not None]


def flax_kept_steps(
    steps: Iterable[int], keep: int = 1, keep_every_n_steps: int | None = None
) -> list[int]:
    """Returns the steps Flax leaves on disk after saving `steps` one by one.

    Same defaults as `flax.training.checkpoints.save_checkpoint` (keep=1, no
    interval). keep=0 keeps everything, as in Flax (`files[:-0]` is empty).

    >>> flax_kept_steps(range(20), keep=3, keep_every_n_steps=2)
    [1, 3, 5, 7, 9, 11, 13, 15, 17, 18, 19]
    >>> flax_kept_steps([0, 100, 200, 300], keep=1, keep_every_n_steps=150)
    [100, 300]
    """
    _validate_options(keep, keep_every_n_steps)
    on_disk: list[int] = []
    for step in _validated_steps(steps):
        on_disk = flax_survivors(on_disk + [step], keep, keep_every_n_steps)
    return on_disk


@dataclasses.dataclass(frozen=True)
class FlaxRetention:
    """Orbax preservation policy that keeps exactly what Flax's `save_checkpoint` keeps.

    Works with `ocp.CheckpointManagerOptions(preservation_policy=...)` and with
    `orbax.checkpoint.experimental.v1.training.Checkpointer(preservation_policy=...)`:
    both call `should_preserve` once per save with the checkpoints then on disk,
    oldest first, which is the list Flax's cleanup looks at.

    >>> FlaxRetention(keep=3, keep_every_n_steps=2).explain([0, 1, 2, 3, 4])
    {1: 'every 2 steps', 2: 'latest 3', 3: 'latest 3', 4: 'latest 3'}
    """

    keep: int = 1
    keep_every_n_steps: int | None = None

    def __post_init__(self):
        _validate_options(self.keep, self.keep_every_n_steps)

    def should_preserve(self, checkpoints: Sequence[Any], *, context: Any = None) -> list[bool]:
        """Orbax `PreservationPolicy` protocol: one bool per checkpoint, same order."""
        del context  # Flax's rule depends on the step numbers only.
        steps = [info.step for info in checkpoints]
        kept = set(self.kept_steps(sorted(steps)))
        return [step in kept for step in steps]

    def describe(self) -> str:
        """How RetainedSteps names this policy: Flax's own arguments.

        >>> FlaxRetention(keep=3, keep_every_n_steps=2).describe()
        'Flax keep=3, keep_every_n_steps=2'
        """
        return f'Flax keep={self.keep}, keep_every_n_steps={self.keep_every_n_steps}'

    def kept_steps(self, on_disk: Iterable[int]) -> list[int]:
        """Returns the steps of `on_disk` that survive this save's cleanup.

        >>> FlaxRetention(keep=2).kept_steps([5, 6, 7])
        [6, 7]
        """
        return flax_survivors(on_disk, self.keep, self.keep_every_n_steps)

    def explain(self, steps: list[int]) -> dict[int, str]:
        """Returns {kept step: why it is kept} for the steps on disk; deleted steps are absent.

        >>> FlaxRetention(keep=1, keep_every_n_steps=10).explain([0, 10, 15, 20])
        {10: 'every 10 steps', 20: 'latest 1'}
        """
        ordered = _validated_steps(sorted(steps))
        decisions = _cleanup_decisions(ordered, self.keep, self.keep_every_n_steps)
        return {s: reason for s, reason in decisions.items() if reason is not None}

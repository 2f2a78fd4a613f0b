"""Which steps a checkpoint directory keeps, which it has deleted, and why.

A `StepTracker` rescans a directory on every `timeline()` call and remembers the steps it saw
before, so a step that a retention policy deleted shows up as 'deleted' instead of silently
vanishing. Reasons come from the policy itself: Orbax's own `should_preserve` is asked which
steps each part of the policy keeps, so the explanation cannot drift from what Orbax does.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from pathlib import Path
from typing import Any, Callable

import orbax.checkpoint as ocp

from . import scan, upstream
from .model import StepState, StepTimeline

_policies = ocp.checkpoint_managers


@dataclasses.dataclass(frozen=True)
class _Info:
    """The minimum of Orbax's PolicyCheckpointInfo that step-based policies read."""

    step: int
    metrics: dict | None = None
    time: datetime.datetime = dataclasses.field(
        default_factory=lambda: datetime.datetime.now(datetime.timezone.utc))


def policy_from_options(options: ocp.CheckpointManagerOptions) -> Any:
    """The preservation policy a CheckpointManager with these options applies.

    `preservation_policy` when set; otherwise the policy Orbax builds from the deprecated
    `max_to_keep` / `keep_period` (LatestN / EveryNSteps, combined with "any").

    >>> policy_from_options(ocp.CheckpointManagerOptions(max_to_keep=3))
    LatestN(n=3)
    """
    if options.preservation_policy is not None:
        return options.preservation_policy
    parts = []
    if options.keep_period is not None:
        parts.append(_policies.EveryNSteps(options.keep_period))
    if options.max_to_keep is not None:
        parts.append(_policies.LatestN(n=options.max_to_keep))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else _policies.AnyPreservationPolicy(parts)


def describe_policy(policy: Any) -> str:
    """A short name for a policy: 'latest 3 or every 2 steps'.

    >>> describe_policy(_policies.AnyPreservationPolicy([_policies.LatestN(3), _policies.EveryNSteps(2)]))
    'latest 3 or every 2 steps'
    """
    if policy is None:
        return ''
    if isinstance(policy, _policies.AnyPreservationPolicy):
        return ' or '.join(describe_policy(p) for p in policy.policies)
    if isinstance(policy, _policies.LatestN):
        return 'keep all' if policy.n is None else f'latest {policy.n}'
    if isinstance(policy, _policies.EveryNSteps):
        return f'every {policy.interval_steps} steps'
    if hasattr(policy, 'describe'):
        return policy.describe()
    return type(policy).__name__


def explain_steps(policy: Any, steps: list[int]) -> dict[int, str]:
    """Why `policy` keeps each of `steps` (finished steps, in order): {step: reason}.

    A policy object may explain itself with `explain(steps) -> dict[int, str]`; for Orbax's
    policies each part is asked through its own `should_preserve`.

    >>> explain_steps(_policies.AnyPreservationPolicy([_policies.LatestN(2), _policies.EveryNSteps(2)]), [0, 2, 3, 4])
    {0: 'every 2 steps', 2: 'every 2 steps', 3: 'latest 2', 4: 'every 2 steps; latest 2'}
    """
    if policy is None or not steps:
        return {}
    if hasattr(policy, 'explain'):
        return dict(policy.explain(list(steps)))
    parts = policy.policies if isinstance(policy, _policies.AnyPreservationPolicy) else [policy]
    reasons: dict[int, list[str]] = {s: [] for s in steps}
    infos = [_Info(step=s) for s in steps]
    for part in parts:
        try:
            keep = part.should_preserve(infos, context=_policies.PreservationContext())
        except Exception:  # noqa: BLE001 - e.g. BestN needs metrics we do not have
            continue
        for s, kept in zip(steps, keep, strict=False):
            if kept:
                reasons[s].append(describe_policy(part))
    return {s: '; '.join(sorted(r)) for s, r in reasons.items() if r}


def source_directory(source: Any) -> tuple[Path, str | None, Any]:
    """(directory, step prefix, policy) of a path, a CheckpointManager or a v1 Checkpointer."""
    if isinstance(source, (str, os.PathLike)):
        return Path(source), None, None
    directory = Path(str(source.directory))
    # A v1 training.Checkpointer keeps its options on the CheckpointManager it wraps.
    options = upstream.manager_options(source)
    if isinstance(options, ocp.CheckpointManagerOptions):
        return directory, options.step_prefix, policy_from_options(options)
    return directory, None, None


class StepTracker:
    """Rescans a directory on demand and remembers every step it has seen there.

    >>> import tempfile; StepTracker(tempfile.mkdtemp()).timeline().layout
    'empty'
    """

    def __init__(self, source: Any, *, prefix: str | None = None, policy: Any = None,
                 label: str | None = None, diagnose: Callable[[Path], str | None] | None = None):
        self.directory, source_prefix, source_policy = source_directory(source)
        self.prefix = prefix if prefix is not None else source_prefix
        self.policy = policy if policy is not None else source_policy
        self.label = label or self.directory.name
        self.diagnose = diagnose
        self._seen: set[int] = set()
        self._diagnosed: dict[str, str | None] = {}

    @property
    def seen(self) -> frozenset[int]:
        """Every step the timelines so far have seen on disk."""
        return frozenset(self._seen)

    def timeline(self, *, seen: set[int] | None = None, diagnose: bool = True) -> StepTimeline:
        """Scan now and return every step seen so far, with its status and reason.

        `seen`: remember steps in this set instead of the tracker's own (a live redraw must not
        change what the next explicit timeline calls deleted). `diagnose=False`: reuse earlier
        diagnoses only, reading no step (a background redraw must not make a damaged read print).
        """
        memory = self._seen if seen is None else seen
        problem = scan.path_problem(self.directory)
        if problem is None:
            try:
                layout, on_disk = scan.list_steps(self.directory, prefix=self.prefix)
            except OSError as e:  # e.g. unreadable, or removed between the check and the scan
                problem = f'cannot be read: {e.strerror or e}'
        if problem:
            return StepTimeline(label=self.label, layout='', steps=(), problem=problem)
        on_disk = [self._checked(s, diagnose) for s in on_disk]
        kept = [s.step for s in on_disk if s.status == 'kept']
        reasons = explain_steps(self.policy, kept)
        present = {s.step for s in on_disk}
        states = [dataclasses.replace(s, reason=reasons.get(s.step, s.reason)) if s.status == 'kept'
                  else s for s in on_disk]
        states += [StepState(step=s, status='deleted') for s in memory - present]
        memory |= present
        states.sort(key=lambda s: (s.step, s.status))
        return StepTimeline(label=self.label, layout=layout, steps=tuple(states),
                            policy=describe_policy(self.policy))

    def _checked(self, state: StepState, diagnose: bool = True) -> StepState:
        if state.status == 'unfinished':
            return dataclasses.replace(state, reason='save not committed')
        if self.diagnose is None:
            return state
        if diagnose:
            self._diagnosed[state.name] = self.diagnose(self.directory / state.name)
        problem = self._diagnosed.get(state.name)
        return dataclasses.replace(state, status='damaged', reason=problem) if problem else state

"""Plain data that the views show: what a scan of the disk or of a pytree found.

Nothing here imports IPython or ipywidgets; every value is immutable and printable, so the
renderers (`render.py`) are pure functions of it and tests can compare it directly.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Entry:
    """One file or folder of a checkpoint directory, as `scan_directory` found it.

    `role` says what Orbax or Flax uses it for ('' when unknown); `size` is None for folders
    and for files whose size varies run to run (see `layout.VOLATILE_FILES`).

    >>> Entry(name='_METADATA', kind='file', role='pytree metadata', size=812).kind
    'file'
    """

    name: str
    kind: str  # 'dir' | 'file' | 'link' | 'unreadable'
    role: str = ''
    size: int | None = None
    step: int | None = None
    note: str = ''
    children: tuple[Entry, ...] = ()
    more: int = 0  # children left out by the cap

    @property
    def is_dir(self) -> bool:
        return self.kind == 'dir'


@dataclasses.dataclass(frozen=True)
class DirectorySnapshot:
    """A checkpoint directory at one moment: its tree of entries, or why there is none.

    >>> DirectorySnapshot(label='ckpt', root=None, problem='does not exist').problem
    'does not exist'
    """

    label: str
    root: Entry | None
    problem: str | None = None


@dataclasses.dataclass(frozen=True)
class StepState:
    """One step of a checkpoint directory on the timeline.

    `status` is 'kept' (finished, on disk), 'unfinished' (a tmp save, not committed),
    'deleted' (seen by an earlier refresh, gone now) or 'damaged' (on disk, but unreadable).
    `reason` says why a kept step is kept (from the policy) or what is wrong with it.

    >>> StepState(step=4, status='kept', name='4', reason='latest 3').status
    'kept'
    """

    step: int
    status: str
    name: str = ''
    reason: str = ''


@dataclasses.dataclass(frozen=True)
class StepTimeline:
    """Every step a directory holds or held, in step order, and the policy that explains them.

    >>> StepTimeline(label='ckpt', layout='empty', steps=()).kept
    ()
    """

    label: str
    layout: str
    steps: tuple[StepState, ...]
    policy: str = ''
    problem: str | None = None

    def with_status(self, status: str) -> tuple[int, ...]:
        return tuple(s.step for s in self.steps if s.status == status)

    @property
    def kept(self) -> tuple[int, ...]:
        return self.with_status('kept')


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One leaf of a pytree: where it is, what it is, and where its shards live.

    `devices` maps each device id to the letter of the shard it holds ('A', 'B', ...; the same
    letter means the same slice of the array), for jax.Arrays only.

    >>> Leaf(path='[0]', type='int', preview='12').preview
    '12'
    """

    path: str
    type: str
    shape: tuple[int, ...] | None = None
    dtype: str = ''
    sharding: str = ''
    mesh_shape: tuple[int, ...] = ()
    devices: tuple[tuple[int, str], ...] = ()
    preview: str = ''


@dataclasses.dataclass(frozen=True)
class PytreeSummary:
    """The leaves of a pytree in flattening order, capped at `limit` with `more` left out."""

    label: str
    leaves: tuple[Leaf, ...]
    more: int = 0


@dataclasses.dataclass(frozen=True)
class LeafDifference:
    """How one aligned pair of leaves compares: `status` is 'equal' or what differs."""

    path: str
    status: str
    left: str = ''
    right: str = ''


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Leaf-by-leaf comparison of two pytrees (structure, type, dtype, shape and values).

    >>> Comparison(left='a', right='b', rows=()).equal
    True
    """

    left: str
    right: str
    rows: tuple[LeafDifference, ...]

    @property
    def equal(self) -> bool:
        return all(r.status == 'equal' for r in self.rows)

    @property
    def differences(self) -> tuple[LeafDifference, ...]:
        return tuple(r for r in self.rows if r.status != 'equal')

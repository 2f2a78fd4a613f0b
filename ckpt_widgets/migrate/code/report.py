"""What `migrate-code` did with each legacy call: rewritten, flagged (a TODO to do by hand), left.

>>> f = Finding('train.py', 12, 'checkpoints.save_checkpoint', REWRITTEN, 'mngr.save(step, ...)')
>>> f.text
'train.py:12: checkpoints.save_checkpoint -> rewritten: mngr.save(step, ...)'
"""

from __future__ import annotations

import dataclasses

REWRITTEN = 'rewritten'
FLAGGED = 'flagged'
LEFT = 'left'
TODO_TAG = '# TODO(orbax-migration): '


@dataclasses.dataclass(frozen=True)
class Finding:
    """One legacy call (or pattern): where, what, and what became of it (`outcome`, `detail`)."""

    path: str
    line: int
    call: str
    outcome: str
    detail: str

    @property
    def text(self) -> str:
        return f'{self.path}:{self.line}: {self.call} -> {self.outcome}: {self.detail}'


@dataclasses.dataclass(frozen=True)
class FileResult:
    """One file (or notebook): its findings, the new source, or why it could not be read."""

    path: str
    findings: tuple[Finding, ...] = ()
    before: str = ''
    after: str = ''
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.error is None and self.before != self.after


@dataclasses.dataclass(frozen=True)
class Report:
    """All files of one run. `exit_code`: 0 nothing left by hand, 1 some flagged, 2 unreadable.

    >>> Report((FileResult('a.py'),)).exit_code
    0
    """

    files: tuple[FileResult, ...]

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.files for f in r.findings)

    def count(self, outcome: str) -> int:
        return sum(f.outcome == outcome for f in self.findings)

    @property
    def exit_code(self) -> int:
        if any(r.error for r in self.files):
            return 2
        return 1 if self.count(FLAGGED) else 0

    @property
    def text(self) -> str:
        lines = [f.text for f in self.findings]
        lines += [f'{r.path}: error: {r.error}' for r in self.files if r.error]
        changed = sum(r.changed for r in self.files)
        errors = sum(bool(r.error) for r in self.files)
        lines.append(
            f'{len(self.files)} files, {changed} changed, {errors} not parsed: '
            f'{self.count(REWRITTEN)} rewritten, {self.count(FLAGGED)} flagged (TODO), '
            f'{self.count(LEFT)} left as they are')
        return '\n'.join(lines)

    def __str__(self) -> str:
        return self.text

"""A checker's finding: `Verdict` (status, the one line that matters, details) as text and HTML.

>>> print(failed_verdict('Exercise 0 · demo', ['first hint', 'second hint']).text)
✗ Exercise 0 · demo: first hint
  also: second hint
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from ckpt_widgets import render
from ckpt_widgets.shown import Shown

_SYMBOLS = {'passed': '✓', 'failed': '✗', 'not attempted': '○'}
_COLORS = {'passed': '#2e7d32', 'failed': '#c62828', 'not attempted': '#757575'}


@dataclasses.dataclass(frozen=True, repr=False)
class Verdict(Shown):
    """What a checker found: `status` ('passed', 'failed', 'not attempted') and why.

    `message` is the one line that matters (the hint, when failed); `details` are further
    lines (more problems, or what the legacy code did). Truthy only when passed.

    >>> v = Verdict('Exercise 0 · demo', 'failed', 'your directory is relative')
    >>> v.text
    '✗ Exercise 0 · demo: your directory is relative'
    >>> bool(v), v.attempted
    (False, True)
    """

    exercise: str
    status: str
    message: str
    details: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == 'passed'

    @property
    def attempted(self) -> bool:
        return self.status != 'not attempted'

    @property
    def text(self) -> str:
        lines = [f'{_SYMBOLS[self.status]} {self.exercise}: {self.message}']
        lines += [f'  {line}' for line in self.details]
        return '\n'.join(lines)

    @property
    def html(self) -> str:
        color = _COLORS[self.status]
        details = ''.join(f'<div style="margin-left:1.4em;color:#444">{render.escape(d)}</div>'
                          for d in self.details)
        return (f'<div style="border-left:4px solid {color};padding:4px 8px;margin:2px 0;'
                f'font-family:sans-serif;font-size:13px">'
                f'<span style="color:{color};font-weight:bold">{_SYMBOLS[self.status]}</span> '
                f'<b>{render.escape(self.exercise)}</b>: {render.escape(self.message)}'
                f'{details}</div>')

    def __bool__(self) -> bool:
        return self.passed


def failed_verdict(title: str, hints: list[str], details: tuple[str, ...] = ()) -> Verdict:
    extra = tuple(f'also: {h}' for h in hints[1:])
    return Verdict(title, 'failed', hints[0], extra + tuple(details))


def not_attempted(title: str, fn: Callable) -> Verdict:
    """The verdict for a function that is still the shipped stub."""
    name = getattr(fn, '__name__', 'your function')
    return Verdict(title, 'not attempted',
                   f'not attempted yet: replace the `...` in `{name}` with your Orbax code, '
                   'then run this cell again')

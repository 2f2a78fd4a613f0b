"""Two or more views next to each other: the old call's result beside its replacement's.

`SideBySide(a, b)` displays the views' live widgets in a row (JupyterLab, Colab), their
`text/html` snapshots in a flex row (GitHub, nbviewer), and their `text/plain` texts as
padded columns (what nbval compares). The parts stay live: refresh a view and the row shows it.

>>> class Text:
...     def __init__(self, text): self.text, self.html = text, text
>>> print(SideBySide(Text('flax\\n1 2 3 4'), Text('orbax\\n0 2 3 4')).text)
flax     |  orbax
1 2 3 4  |  0 2 3 4
"""

from __future__ import annotations

import html as html_lib
from typing import Any

import ipywidgets as widgets

__all__ = ['SideBySide', 'columns_text']


def columns_text(texts: list[str], gap: str = '  |  ') -> str:
    """Texts as columns, each padded to its widest line, joined by `gap`.

    >>> print(columns_text(['a\\nbb', 'c']))
    a   |  c
    bb  |
    """
    blocks = [t.splitlines() or [''] for t in texts]
    widths = [max(len(line) for line in block) for block in blocks]
    height = max(len(block) for block in blocks)
    rows = []
    for i in range(height):
        cells = [(block[i] if i < len(block) else '').ljust(width)
                 for block, width in zip(blocks, widths)]
        rows.append(gap.join(cells).rstrip())
    return '\n'.join(rows)


def _html_of(part: Any) -> str:
    if hasattr(part, 'html'):
        return part.html
    return f'<pre>{html_lib.escape(part.text)}</pre>'


def _widget_of(part: Any) -> widgets.Widget:
    widget = getattr(part, 'widget', None)
    return widget if widget is not None else widgets.HTML(_html_of(part))


class SideBySide:
    """Views (anything with `.text`, and ideally `.html` and `.widget`) in one row.

    `.text` and `.html` are read when displayed, so they show each part's latest refresh.
    """

    def __init__(self, *parts: Any) -> None:
        if len(parts) < 2:
            raise ValueError(f'SideBySide needs at least two views, got {len(parts)}')
        self.parts = parts
        children = [_widget_of(parts[0])]
        for part in parts[1:]:  # a spacer: ipywidgets' Layout has no `gap`
            children += [widgets.HTML('&nbsp;' * 6), _widget_of(part)]
        self.widget = widgets.HBox(children, layout=widgets.Layout(align_items='flex-start'))

    @property
    def text(self) -> str:
        return columns_text([p.text for p in self.parts])

    @property
    def html(self) -> str:
        cells = ''.join(f'<div style="flex:0 1 auto">{_html_of(p)}</div>' for p in self.parts)
        return (f'<div class="ckpt-widgets side-by-side" '
                f'style="display:flex;gap:2em;align-items:flex-start">{cells}</div>')

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = self.widget._repr_mimebundle_()
        bundle['text/plain'] = self.text
        bundle['text/html'] = self.html
        return bundle

    def __repr__(self) -> str:
        return self.text

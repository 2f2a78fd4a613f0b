"""Several views in one row for the eye, one after the other for the checker.

`ViewRow(a, b, c)` displays the views' live widgets in an `ipywidgets.HBox` (JupyterLab,
Colab), their static HTML snapshots in a flex row (GitHub, exported HTML), and their texts
one after the other, separated by a blank line, as `text/plain` (what nbval compares). Wide
texts such as RetainedSteps' summaries stay readable, where side-by-side columns would not.

>>> import tempfile, ckpt_widgets as cw
>>> print(ViewRow(cw.RetainedSteps(tempfile.mkdtemp(), label='a'),
...               cw.RetainedSteps(tempfile.mkdtemp(), label='b')))
a: empty
step  status      why
kept: []
<BLANKLINE>
b: empty
step  status      why
kept: []
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

__all__ = ['ViewRow']


class ViewRow:
    """Views (anything with `.widget`, `.text`, `.html`) in one row; `refresh()` refreshes all.

    `.text` and `.html` are read when displayed, so they show each view's latest refresh.
    """

    def __init__(self, *views: Any) -> None:
        if not views:
            raise ValueError('ViewRow needs at least one view')
        self.views = views
        self.widget = widgets.HBox([v.widget for v in views],
                                   layout=widgets.Layout(align_items='flex-start'))

    def refresh(self) -> ViewRow:
        for view in self.views:
            view.refresh()
        return self

    @property
    def text(self) -> str:
        """The views' texts in order, separated by a blank line."""
        return '\n\n'.join(v.text for v in self.views)

    @property
    def html(self) -> str:
        cells = ''.join(f'<div style="flex:1 1 0;min-width:0">{v.html}</div>' for v in self.views)
        return f'<div class="ckpt-widgets view-row" style="display:flex;gap:16px">{cells}</div>'

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = self.widget._repr_mimebundle_()
        bundle['text/plain'] = self.text
        bundle['text/html'] = self.html
        return bundle

    def __repr__(self) -> str:
        return self.text

"""`Shown`: how every result of the package displays, views and plain results alike.

A result gives `text` (deterministic: what nbval compares and what `print` and `repr` show)
and, when it has one, `html` (a static snapshot) and a live `widget`. A notebook cell ends with
the object; there is no `.summary()` or `.line()` to remember. Needs no ipywidgets.

>>> class Answer(Shown):
...     text = '42'
>>> Answer()
42
>>> Answer()._repr_html_()
'<pre>42</pre>'
"""

from __future__ import annotations

from typing import Any

from .render import escape


class Shown:
    """Displays as its live widget (when it has one), its HTML snapshot and its text."""

    widget: Any = None
    text: str = ''
    html: str = ''

    def _repr_html_(self) -> str:
        return self.html or f'<pre>{escape(self.text)}</pre>'

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        if self.widget is not None:
            self.go_live()  # displayed with a widget: from now on it may be seen live
        bundle = self.widget._repr_mimebundle_() if self.widget is not None else {}
        bundle['text/plain'] = self.text
        bundle['text/html'] = self._repr_html_()
        return bundle

    def __repr__(self) -> str:
        return self.text

    def go_live(self) -> None:
        """Called when displayed with a widget: start whatever keeps the widget current."""

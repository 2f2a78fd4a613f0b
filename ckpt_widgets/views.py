"""The live views: ipywidgets that show a model from `scan`/`steps`/`pytrees`, and refresh.

Displaying a view emits three things together: the live widget (JupyterLab, Colab), a static
`text/html` snapshot (GitHub, nbviewer, exported HTML) and a deterministic `text/plain`
(what nbval compares). Background refreshes only set widget values, so a thread never prints
into whichever cell happens to be running.

A displayed view over a folder stays live by itself: displaying it registers its folder with
the kernel's one watcher (`watch.py`), which calls `redraw()` after each burst of changes.
`redraw()` updates the widget only; `.model`, `.text` and what the next `refresh()` reports
change only when code calls `refresh()`, so stored text outputs stay what the code asked for.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import ipywidgets as widgets

from . import failure_noise, pytrees, render, scan, watch
from .errors import error_headline
from .model import Comparison
from .read_step import restore_path
from .shown import Shown
from .steps import StepTracker


class View(Shown):
    """Base of the live views: `refresh()` rescans and updates the widget in place.

    A view with a `folder` redraws its widget whenever that folder changes, from the moment it
    is displayed (or `go_live()` is called) until `close()` or garbage collection.
    """

    folder: Path | None = None  # watched once displayed; None: nothing to watch

    def __init__(self) -> None:
        if self.widget is None:
            self.widget = widgets.HTML()
        self.text = self.html = ''
        self.model: Any = None
        self.error: BaseException | None = None  # last failure of a background refresh
        # Serializes refresh() and background redraws, so the last one to draw read the disk last.
        self._drawing = threading.RLock()
        self.refresh()

    def _build(self) -> Any:
        raise NotImplementedError

    def _render(self, model: Any) -> tuple[str, str]:
        raise NotImplementedError

    def refresh(self, *, if_changed: bool = False) -> View:
        """Rescan and redraw; returns the view so a cell can end with `view.refresh()`.

        `if_changed`: skip rendering when the scan equals the last one (what `follow` polls with).
        """
        with self._drawing:
            model = self._build()
            if if_changed and model == self.model:
                return self
            text, html = self._render(model)
            self.model, self.text, self.html = model, text, html
            self._publish(html)
        return self

    def redraw(self) -> None:
        """Rescan and update the widget only (what the watcher calls, from its thread).

        Never raises and never prints: a failure is kept in `.error`.
        """
        try:
            with self._drawing:
                self._publish(self._render(self._build_live())[1])
        except Exception as e:  # noqa: BLE001 - a background thread has nobody to raise to
            self.error = e

    def _build_live(self) -> Any:
        """The model for a background redraw; must not change what `refresh()` reports."""
        return self._build()

    def _publish(self, html: str) -> None:
        if self.widget.value != html:
            self.widget.value = html

    def go_live(self) -> None:
        """Watch `folder` (if any) and redraw on every change; idempotent."""
        if self.folder is not None and '_watch_key' not in self.__dict__:
            watch.watch(self, self.folder)

    def close(self) -> None:
        """Stop watching and close the widget (the view's text and model stay readable)."""
        watch.unwatch(self)
        self.widget.close()

    @contextlib.contextmanager
    def follow(self, every: float = 0.1) -> Iterator[View]:
        """Refresh in a background thread every `every` seconds while the block runs.

        >>> # with tree.follow():
        >>> #     for step in range(5): mgr.save(step, args=...)
        """
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(every):
                try:
                    self.refresh(if_changed=True)
                except Exception as e:  # noqa: BLE001 - shown by the final refresh, never printed
                    self.error = e

        thread = threading.Thread(target=poll, name=f'{type(self).__name__}.follow', daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            self.refresh()


class DirectoryTree(View):
    """A checkpoint directory as a sorted tree with roles and sizes.

    >>> import tempfile; print(DirectoryTree(tempfile.mkdtemp(prefix='x')).text.split(':')[0][-7:])
    (empty)
    """

    def __init__(self, path: str | Path, *, limit: int = scan.DEFAULT_LIMIT,
                 expand: str = 'latest') -> None:
        self.path, self.limit, self.expand = Path(path), limit, expand
        self.folder = self.path
        super().__init__()

    def _build(self):
        return scan.scan_directory(self.path, limit=self.limit, expand=self.expand)

    def _render(self, model):
        return render.directory_text(model), render.directory_html(model)


class RetainedSteps(View):
    """The steps of a directory over time: kept (and why), unfinished, deleted, damaged.

    `source` is a path, an Orbax CheckpointManager or a v1 training.Checkpointer; `prefix`
    selects Flax's `prefix=` files; `policy` is anything Orbax's `preservation_policy` takes
    (or an object with `explain(steps)`), used to say why each step is kept.
    """

    def __init__(self, source: Any, *, prefix: str | None = None, policy: Any = None,
                 label: str | None = None,
                 diagnose: Callable[[Path], str | None] | None = None) -> None:
        self.tracker = StepTracker(source, prefix=prefix, policy=policy, label=label,
                                   diagnose=diagnose)
        self.folder = self.tracker.directory
        self._live_seen: set[int] = set()
        self.live_model = None  # the timeline of the last background redraw
        super().__init__()

    def _build(self):
        return self.tracker.timeline()

    def _build_live(self):
        # Own memory of steps seen (so "deleted" in the text depends only on refresh() calls)
        # and earlier diagnoses only (reading a damaged step could print).
        self._live_seen |= self.tracker.seen
        self.live_model = self.tracker.timeline(seen=self._live_seen, diagnose=False)
        return self.live_model

    def _render(self, model):
        return render.steps_text(model), render.steps_html(model)

    @property
    def kept(self) -> tuple[int, ...]:
        """The finished steps on disk at the last refresh."""
        return self.model.kept

    @property
    def deleted(self) -> tuple[int, ...]:
        return self.model.with_status('deleted')

    @property
    def unfinished(self) -> tuple[int, ...]:
        return self.model.with_status('unfinished')

    @property
    def damaged(self) -> tuple[int, ...]:
        """Steps the `diagnose=` function found damaged, at the last look."""
        return self.model.with_status('damaged')


NO_TREE = object()  # PytreeView(NO_TREE, 'why'): shows only the label, e.g. 'choose a step'


class PytreeView(View):
    """A pytree leaf by leaf: path, type, shape, dtype, sharding with its device grid, value."""

    def __init__(self, tree: Any, label: str = '', *, limit: int = pytrees.DEFAULT_LIMIT) -> None:
        self.tree, self.label, self.limit = tree, label, limit
        super().__init__()

    def show(self, tree: Any, label: str | None = None) -> PytreeView:
        """Show another tree in the same widget."""
        self.tree = tree
        if label is not None:
            self.label = label
        return self.refresh()

    def _build(self):
        if self.tree is NO_TREE:
            return None
        return pytrees.summarize(self.tree, self.label, limit=self.limit)

    def _render(self, model):
        if model is None:  # nothing to show: the label says why, without a table of None
            return self.label, (f'<div class="ckpt-widgets pytree-view"><i>'
                                f'{render.escape(self.label)}</i></div>')
        return render.pytree_text(model), render.pytree_html(model)


class Compared(Shown):
    """The result of `compare`: `.equal`, `.differences`, and a table when displayed."""

    def __init__(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.text = render.comparison_text(comparison)
        self.html = render.comparison_html(comparison)

    @property
    def equal(self) -> bool:
        return self.comparison.equal

    @property
    def differences(self):
        return self.comparison.differences

    def __bool__(self) -> bool:
        return self.equal


def compare(a: Any, b: Any, left: str = 'left', right: str = 'right') -> Compared:
    """Compare two pytrees leaf by leaf (structure, list vs dict, type, dtype, values).

    >>> compare([12, 'x'], {'0': 12, '1': 'x'}, 'orbax', 'flax').equal
    False
    """
    return Compared(pytrees.compare(a, b, left, right))


class Row(Shown):
    """Views side by side: the old call's result beside its replacement's.

    Live widgets sit in an HBox and the HTML snapshots in a flex row. The text (what nbval
    compares) puts the views in columns while they fit in `ROW_WIDTH` characters, and one
    after the other when they are wider. `refresh()` refreshes every view.

    >>> class Text:
    ...     def __init__(self, text): self.text = text
    >>> print(Row(Text('flax\\n1 2 3 4'), Text('orbax\\n0 2 3 4')).text)
    flax     |  orbax
    1 2 3 4  |  0 2 3 4
    """

    ROW_WIDTH = 100

    def __init__(self, *views: Any) -> None:
        if not views:
            raise ValueError('Row needs at least one view')
        self.views = views
        self.widget = widgets.HBox([_widget_of(v) for v in views],
                                   layout=widgets.Layout(align_items='flex-start',
                                                         grid_gap='24px'))

    def refresh(self) -> Row:
        for view in self.views:
            if hasattr(view, 'refresh'):
                view.refresh()
        return self

    def go_live(self) -> None:
        for view in self.views:
            if hasattr(view, 'go_live'):
                view.go_live()

    @property
    def text(self) -> str:
        texts = [v.text for v in self.views]
        columns = render.columns_text(texts)
        if max(len(line) for line in columns.splitlines() or ['']) <= self.ROW_WIDTH:
            return columns
        return '\n\n'.join(texts)

    @property
    def html(self) -> str:
        return render.row_html([_html_of(v) for v in self.views])


def _html_of(view: Any) -> str:
    return view.html if hasattr(view, 'html') else render.preformatted(view.text)


def _widget_of(view: Any) -> widgets.Widget:
    widget = getattr(view, 'widget', None)
    return widget if widget is not None else widgets.HTML(_html_of(view))


class Dashboard(View):
    """DirectoryTree, RetainedSteps and a step selector that restores the chosen step."""

    def __init__(self, source: Any, *, prefix: str | None = None, policy: Any = None,
                 diagnose: Callable[[Path], str | None] | None = None) -> None:
        self.steps = RetainedSteps(source, prefix=prefix, policy=policy, diagnose=diagnose)
        self.tree = DirectoryTree(self.steps.tracker.directory)
        self.selector = widgets.Dropdown(description='restore step', options=[])
        self.restored = PytreeView(NO_TREE, 'no step selected: choose a step above')
        self.selected: int | None = None
        self.selector.observe(self._on_select, names='value')
        self.widget = widgets.VBox([self.tree.widget, self.steps.widget, self.selector,
                                    self.restored.widget])
        self.folder = self.steps.tracker.directory
        super().__init__()

    def _publish(self, html: str) -> None:
        pass  # the parts update their own widgets

    def refresh(self, *, if_changed: bool = False) -> Dashboard:
        # Always re-render: the text joins the parts', and the tree can change while the steps
        # (this view's model) do not.
        return super().refresh()

    def _on_select(self, change) -> None:
        if change['new'] is not None and change['new'] != self.selected:
            self.select(change['new'])

    def select(self, step: int) -> Dashboard:
        """Restore `step` and show it (an error is shown in place of the tree, not raised)."""
        self.selected = step
        names = {s.step: s.name for s in self.steps.model.steps if s.status in ('kept', 'damaged')}
        if step not in names:
            self.restored.show(NO_TREE, f'step {step} is not on disk')
        else:
            try:
                with failure_noise.swallowed():  # a damaged step's read prints later, elsewhere
                    tree = restore_path(self.steps.tracker.directory / names[step])
                self.restored.show(tree, f'step {step}')
            except Exception as e:  # noqa: BLE001 - a damaged step is shown, not raised
                self.restored.show(NO_TREE, f'step {step} cannot be restored: '
                                         f'{error_headline(e, self.steps.tracker.directory)}')
        if self.selector.value != step and step in self.selector.options:
            self.selector.value = step
        return self.refresh()

    def _build(self):
        self.tree.refresh()
        self.steps.refresh()
        self._offer(self.steps.kept)
        return self.steps.model

    def _build_live(self):
        self.tree.redraw()
        self.steps.redraw()
        if self.steps.live_model is not None:
            self._offer(self.steps.live_model.kept)
        return self.steps.live_model

    def redraw(self) -> None:
        try:
            with self._drawing:
                self._build_live()  # the parts publish their own widgets
        except Exception as e:  # noqa: BLE001 - a background thread has nobody to raise to
            self.error = e

    def close(self) -> None:
        super().close()
        for part in (self.tree, self.steps, self.restored):
            part.close()
        self.selector.close()

    def _offer(self, kept) -> None:
        options = list(kept)
        if list(self.selector.options) != options:
            self.selector.options = options
            self.selector.value = self.selected if self.selected in options else None

    def _render(self, model):
        text = '\n\n'.join([self.tree.text, self.steps.text, self.restored.text])
        html = ''.join([self.tree.html, self.steps.html, self.restored.html])
        return text, html

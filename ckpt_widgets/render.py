"""Pure functions from the data in `model.py` to text and to HTML.

Text is what nbval compares and what a terminal shows; it is sorted and holds no time stamps,
random names or memory addresses. HTML uses only simple tags and inline styles, so GitHub,
nbviewer and a static export show it with no JavaScript. Every piece of text from the disk
or from a pytree goes through `escape` (the one place that makes text safe for HTML).
"""

from __future__ import annotations

import html

from .model import Comparison, DirectorySnapshot, Entry, Leaf, PytreeSummary, StepTimeline

STATUS_COLORS = {'kept': '#2e7d32', 'unfinished': '#ef6c00', 'deleted': '#9e9e9e',
                 'damaged': '#c62828'}
_BOX = ('display:inline-block;min-width:2.2em;margin:1px;padding:1px 3px;text-align:center;'
        'border-radius:3px;font-family:monospace;')
_PRE = 'font-family:monospace;font-size:12px;line-height:1.35;margin:0;white-space:pre;'


def escape(text: object) -> str:
    """Text made safe to put inside HTML (the only escaping function of the package).

    >>> escape('<script>x</script>')
    '&lt;script&gt;x&lt;/script&gt;'
    """
    return html.escape(str(text), quote=True)


def human_size(size: int) -> str:
    """Bytes as a short human size: 512 B, 1.5 KiB, 3.0 MiB.

    >>> human_size(512), human_size(1536)
    ('512 B', '1.5 KiB')
    """
    value = float(size)
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if value < 1024 or unit == 'GiB':
            return f'{size} B' if unit == 'B' else f'{value:.1f} {unit}'
        value /= 1024
    raise AssertionError('unreachable')


# --- directory tree -----------------------------------------------------------------------

def _entry_label(e: Entry) -> tuple[str, str]:
    """(name part, details part) of one tree line."""
    name = e.name + ('/' if e.kind == 'dir' else '')
    details = []
    if e.size is not None:
        details.append(human_size(e.size))
    tags = [t for t in (e.role, e.note) if t]
    if e.kind in ('link', 'unreadable') and not tags:
        tags.append(e.kind)
    if tags:
        details.append('[' + '; '.join(tags) + ']')
    return name, '  '.join(details)


def _tree_lines(entry: Entry) -> list[tuple[str, Entry | None, str]]:
    """(indent prefix, entry or None for a '... N more' line, text) for every line."""
    lines: list[tuple[str, Entry | None, str]] = []

    def walk(e: Entry, prefix: str) -> None:
        kids: list[Entry | None] = list(e.children)
        if e.more:
            kids.insert(len(kids) // 2, None)
        for i, kid in enumerate(kids):
            last = i == len(kids) - 1
            branch = prefix + ('└── ' if last else '├── ')
            if kid is None:
                lines.append((branch, None, f'… {e.more} more'))
                continue
            lines.append((branch, kid, ''))
            if kid.children or kid.more:
                walk(kid, prefix + ('    ' if last else '│   '))

    walk(entry, '')
    return lines


def _root_title(snapshot: DirectorySnapshot) -> str:
    if snapshot.problem:
        return f'{snapshot.label}: {snapshot.problem}'
    if not snapshot.root.children:
        return f'{snapshot.label}/  (empty)'
    return f'{snapshot.label}/'


def directory_text(snapshot: DirectorySnapshot) -> str:
    """The tree as plain text, one entry per line."""
    out = [_root_title(snapshot)]
    if snapshot.root is not None:
        for prefix, entry, text in _tree_lines(snapshot.root):
            if entry is None:
                out.append(prefix + text)
                continue
            name, details = _entry_label(entry)
            out.append(prefix + name + (f'  {details}' if details else ''))
    return '\n'.join(out)


def _role_color(e: Entry) -> str:
    if e.role == 'step' or e.role == 'flax msgpack step':
        return STATUS_COLORS['kept']
    if 'unfinished' in e.role:
        return STATUS_COLORS['unfinished']
    if e.kind == 'unreadable' or 'damaged' in e.role:
        return STATUS_COLORS['damaged']
    return '#616161'


def directory_html(snapshot: DirectorySnapshot) -> str:
    """The tree as HTML: the same lines as the text, with steps and states in colour."""
    rows = [f'<b>{escape(_root_title(snapshot))}</b>']
    if snapshot.root is not None:
        for prefix, entry, text in _tree_lines(snapshot.root):
            if entry is None:
                rows.append(f'{escape(prefix)}<i>{escape(text)}</i>')
                continue
            name, details = _entry_label(entry)
            weight = 'bold' if entry.step is not None else 'normal'
            rows.append(f'{escape(prefix)}<span style="font-weight:{weight}">{escape(name)}</span>'
                        + (f'  <span style="color:{_role_color(entry)}">{escape(details)}</span>'
                           if details else ''))
    return _pre('\n'.join(rows), 'directory-tree')


def _pre(body: str, kind: str) -> str:
    return f'<div class="ckpt-widgets {kind}"><pre style="{_PRE}">{body}</pre></div>'


# --- retained steps -----------------------------------------------------------------------

def _steps_summary(t: StepTimeline) -> str:
    parts = [f'{status}: {list(t.with_status(status))}'
             for status in ('kept', 'unfinished', 'deleted', 'damaged')
             if status == 'kept' or t.with_status(status)]
    return '  '.join(parts)


def _timeline_title(t: StepTimeline) -> str:
    if t.problem:
        return f'{t.label}: {t.problem}'
    title = f'{t.label}: {t.layout}'
    return title + (f', policy: {t.policy}' if t.policy else '')


def steps_text(t: StepTimeline) -> str:
    """The timeline as text: a title, one line per step, and the sets of steps by status."""
    out = [_timeline_title(t)]
    if t.problem:
        return out[0]
    width = max([len(str(s.step)) for s in t.steps] + [4])
    out.append(f'{"step":>{width}}  {"status":<10}  why')
    for s in t.steps:
        out.append(f'{s.step:>{width}}  {s.status:<10}  {s.reason}'.rstrip())
    out.append(_steps_summary(t))
    return '\n'.join(out)


def steps_html(t: StepTimeline) -> str:
    """The timeline as a row of coloured step boxes, with the reasons in their tooltips."""
    title = f'<b>{escape(_timeline_title(t))}</b>'
    if t.problem:
        return f'<div class="ckpt-widgets retained-steps">{title}</div>'
    boxes = []
    for s in t.steps:
        color = STATUS_COLORS.get(s.status, '#616161')
        style = (f'{_BOX}border:1px solid {color};'
                 + (f'background:{color};color:white;' if s.status == 'kept' else f'color:{color};')
                 + ('text-decoration:line-through;' if s.status == 'deleted' else ''))
        tip = f'step {s.step}: {s.status}' + (f' ({s.reason})' if s.reason else '')
        boxes.append(f'<span title="{escape(tip)}" style="{style}">{s.step}</span>')
    legend = ' '.join(f'<span style="color:{c}">■ {k}</span>' for k, c in STATUS_COLORS.items())
    rows = ''.join(
        f'<tr><td style="text-align:right">{s.step}</td>'
        f'<td style="color:{STATUS_COLORS.get(s.status, "#616161")}">{escape(s.status)}</td>'
        f'<td>{escape(s.reason)}</td></tr>' for s in t.steps)
    table = (f'<details><summary>{escape(_steps_summary(t))}</summary>'
             f'<table style="font-family:monospace;font-size:12px">'
             f'<tr><th>step</th><th>status</th><th>why</th></tr>{rows}</table></details>')
    return (f'<div class="ckpt-widgets retained-steps">{title}<div>{"".join(boxes) or "(no steps)"}'
            f'</div><div style="font-size:11px">{legend}</div>{table}</div>')


# --- pytrees ------------------------------------------------------------------------------

_LEAF_COLUMNS = ('path', 'type', 'shape', 'dtype', 'sharding', 'value')


def _leaf_cells(leaf: Leaf) -> tuple[str, ...]:
    shape = '' if leaf.shape is None else str(leaf.shape)
    return leaf.path or '(root)', leaf.type, shape, leaf.dtype, leaf.sharding, leaf.preview


def device_grid_text(leaf: Leaf) -> str:
    """'devices 2x4: 0:A 1:A 2:B 3:B | 4:C ...' (rows of the mesh separated by '|')."""
    if len(leaf.devices) < 2:
        return ''
    shape = 'x'.join(map(str, leaf.mesh_shape))
    per_row = leaf.mesh_shape[-1] if leaf.mesh_shape else len(leaf.devices)
    cells = [f'{d}:{letter}' for d, letter in leaf.devices]
    rows = [' '.join(cells[i:i + per_row]) for i in range(0, len(cells), per_row)]
    return f'devices {shape}: ' + ' | '.join(rows)


def _table_text(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    used = [i for i in range(len(header)) if any(r[i] for r in rows) or i == 0]
    fmt = lambda r: '  '.join(r[i].ljust(widths[i]) for i in used).rstrip()  # noqa: E731
    return [fmt(header)] + [fmt(r) for r in rows]


def pytree_text(summary: PytreeSummary) -> str:
    """The leaves as an aligned table, each sharded array followed by its device grid."""
    title = f'{summary.label}: ' if summary.label else ''
    out = [f'{title}{len(summary.leaves) + summary.more} leaves']
    rows = [_leaf_cells(leaf) for leaf in summary.leaves]
    table = _table_text(_LEAF_COLUMNS, rows)
    out.append(table[0])
    for leaf, line in zip(summary.leaves, table[1:], strict=False):
        out.append(line)
        grid = device_grid_text(leaf)
        if grid:
            out.append('    ' + grid)
    if summary.more:
        out.append(f'… {summary.more} more leaves')
    return '\n'.join(out)


_SHARD_COLORS = ('#bbdefb', '#c8e6c9', '#ffe0b2', '#f8bbd0', '#d1c4e9', '#b2ebf2', '#fff9c4',
                 '#d7ccc8')


def device_grid_html(leaf: Leaf) -> str:
    """The mesh as a small grid: one cell per device, coloured by the shard it holds."""
    if len(leaf.devices) < 2:
        return ''
    per_row = leaf.mesh_shape[-1] if leaf.mesh_shape else len(leaf.devices)
    html_rows = []
    for i in range(0, len(leaf.devices), per_row):
        cells = ''.join(
            f'<td title="device {d} holds shard {escape(letter)}" style="border:1px solid #999;'
            f'padding:0 4px;background:{_SHARD_COLORS[(ord(letter[-1]) - 65) % len(_SHARD_COLORS)]}">'
            f'{d}:{escape(letter)}</td>' for d, letter in leaf.devices[i:i + per_row])
        html_rows.append(f'<tr>{cells}</tr>')
    return f'<table style="border-collapse:collapse;font-size:11px">{"".join(html_rows)}</table>'


def pytree_html(summary: PytreeSummary) -> str:
    """The leaves as an HTML table, with a device grid for each jax.Array."""
    title = f'{summary.label}: ' if summary.label else ''
    grids = any(len(leaf.devices) > 1 for leaf in summary.leaves)
    head = ''.join(f'<th style="text-align:left">{c}</th>'
                   for c in _LEAF_COLUMNS + (('devices',) if grids else ()))
    body = ''.join(
        '<tr>' + ''.join(f'<td>{escape(c)}</td>' for c in _leaf_cells(leaf))
        + (f'<td>{device_grid_html(leaf)}</td>' if grids else '') + '</tr>'
        for leaf in summary.leaves)
    more = f'<div><i>… {summary.more} more leaves</i></div>' if summary.more else ''
    return (f'<div class="ckpt-widgets pytree-view"><b>{escape(title)}'
            f'{len(summary.leaves) + summary.more} leaves</b>'
            f'<table style="font-family:monospace;font-size:12px">'
            f'<tr>{head}</tr>{body}</table>{more}</div>')


# --- comparison ---------------------------------------------------------------------------

def _comparison_title(c: Comparison) -> str:
    verdict = 'EQUAL' if c.equal else f'{len(c.differences)} of {len(c.rows)} leaves differ'
    return f'{c.left} vs {c.right}: {verdict}'


COMPARISON_ROWS = 40  # leaves listed one by one; past that, only the differences


def _listed_rows(c: Comparison) -> tuple[list, int]:
    """The rows a comparison lists, and how many equal leaves it leaves out."""
    if len(c.rows) <= COMPARISON_ROWS:
        return list(c.rows), 0
    shown = list(c.differences[:COMPARISON_ROWS])
    return shown, len(c.rows) - len(c.differences)


def comparison_text(c: Comparison) -> str:
    """A verdict line, then one line per leaf: path, status, and both sides when they differ.

    Past COMPARISON_ROWS leaves, only the differences are listed, then a count of the rest.
    """
    listed, equal_left_out = _listed_rows(c)
    rows = [(r.path or '(root)', r.status, '' if r.status == 'equal' else f'{c.left}: {r.left}',
             '' if r.status == 'equal' else f'{c.right}: {r.right}') for r in listed]
    out = [_comparison_title(c)] + _table_text(('path', 'status', '', ''), rows)[1:]
    hidden = len(c.differences) - sum(r.status != 'equal' for r in listed)
    if equal_left_out or hidden:
        out.append(f'… {equal_left_out} equal leaves' + (f' and {hidden} more differences'
                                                          if hidden else '') + ' not listed')
    return '\n'.join(out)


def comparison_html(c: Comparison) -> str:
    """The comparison as a table with equal leaves in green and differences in red."""
    body = ''.join(
        f'<tr><td>{escape(r.path or "(root)")}</td>'
        f'<td style="color:{"#2e7d32" if r.status == "equal" else "#c62828"}">{escape(r.status)}</td>'
        f'<td>{escape(r.left)}</td><td>{escape(r.right)}</td></tr>' for r in _listed_rows(c)[0])
    color = '#2e7d32' if c.equal else '#c62828'
    return (f'<div class="ckpt-widgets comparison"><b style="color:{color}">'
            f'{escape(_comparison_title(c))}</b><table style="font-family:monospace;font-size:12px">'
            f'<tr><th>path</th><th>status</th><th>{escape(c.left)}</th><th>{escape(c.right)}</th>'
            f'</tr>{body}</table></div>')


# --- rows of views ------------------------------------------------------------------------

def columns_text(texts: list[str], gap: str = '  |  ') -> str:
    """Texts as columns, each padded to its widest line, joined by `gap`.

    >>> print(columns_text(['a\\nbb', 'c']))
    a   |  c
    bb  |
    """
    blocks = [t.splitlines() or [''] for t in texts]
    widths = [max(len(line) for line in block) for block in blocks]
    rows = []
    for i in range(max(len(block) for block in blocks)):
        cells = [(block[i] if i < len(block) else '').ljust(width)
                 for block, width in zip(blocks, widths, strict=False)]
        rows.append(gap.join(cells).rstrip())
    return '\n'.join(rows)


def row_html(parts: list[str]) -> str:
    """HTML snapshots next to each other (they wrap on a narrow page)."""
    cells = ''.join(f'<div style="flex:0 1 auto;min-width:0">{p}</div>' for p in parts)
    return (f'<div class="ckpt-widgets row" style="display:flex;flex-wrap:wrap;gap:2em;'
            f'align-items:flex-start">{cells}</div>')


def preformatted(text: str) -> str:
    """Plain text as a <pre> block."""
    return f'<pre style="{_PRE}">{escape(text)}</pre>'

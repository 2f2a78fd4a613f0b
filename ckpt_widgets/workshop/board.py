"""The instructor's live board: who is done, who is stuck, and on which mistake.

`parse_board(folder, now=...)` reads a progress folder (see `progress`) into a frozen
`BoardModel`: a learners x exercises grid (current status and number of tries), per exercise
the most common current hints with how many learners have each, idle learners, and counts of
what was skipped (truncated or non-JSON lines, unknown exercises, files of another format).
`board_text` / `board_html` render it (pure, sorted, deterministic for a fixed `now`), and
`ClassBoard` shows it like the other views: live widget, HTML snapshot, text, `refresh()`,
`follow()`.

>>> import tempfile
>>> print(board_text(parse_board(tempfile.mkdtemp(), now=0.0, label='room')))
Class board room (0 learners, 5 exercises, 0 records)
learner  1 loop  2 pure  3 restore  4 async  5 array
1 loop: 0 ✓  0 ✗  0 ○  0 ·
2 pure: 0 ✓  0 ✗  0 ○  0 ·
3 restore: 0 ✓  0 ✗  0 ○  0 ·
4 async: 0 ✓  0 ✗  0 ○  0 ·
5 array: 0 ✓  0 ✗  0 ○  0 ·
"""

from __future__ import annotations

import collections
import dataclasses
import os
import time
from pathlib import Path

from .. import render
from ..views import View
from . import hints, progress

# The checker's exercises (keys of `exercises.EXERCISES`, tested) and their column titles.
EXERCISES: tuple[tuple[str, str], ...] = (
    ('training_loop', '1 loop'),
    ('pure_save_load', '2 pure'),
    ('restore_without_target', '3 restore'),
    ('async_save', '4 async'),
    ('single_array', '5 array'),
)
SYMBOLS = {'passed': '✓', 'failed': '✗', 'not attempted': '○', '': '·'}
COLORS = {'passed': '#2e7d32', 'failed': '#c62828', 'not attempted': '#757575', '': '#bdbdbd'}
HINTS_SHOWN = 3  # per exercise, the most common current hints
DEFAULT_IDLE_MINUTES = 10


@dataclasses.dataclass(frozen=True)
class Cell:
    """One learner on one exercise: the latest status ('' = never checked), tries, hint.

    >>> Cell('failed', 2, 'keep-period', 'you kept ...').text, Cell().text
    ('✗ 2', '·')
    """

    status: str = ''
    tries: int = 0  # checks that ran the learner's code (not the "not attempted" ones)
    hint_key: str = ''
    hint: str = ''

    @property
    def text(self) -> str:
        symbol = SYMBOLS[self.status]
        return f'{symbol} {self.tries}' if self.tries else symbol


@dataclasses.dataclass(frozen=True)
class LearnerRow:
    """A learner's row: cells in exercise order, last record time, idle minutes or None."""

    name: str
    cells: tuple[Cell, ...]
    last_time: float
    idle_minutes: int | None = None

    @property
    def done(self) -> bool:
        return all(c.status == 'passed' for c in self.cells)


@dataclasses.dataclass(frozen=True)
class HintCount:
    """How many learners are stuck on one mistake of one exercise right now."""

    key: str
    label: str
    learners: int


@dataclasses.dataclass(frozen=True)
class ExerciseSummary:
    """One exercise over the room: learners per current status, and the common hints."""

    exercise: str
    title: str
    passed: int
    failed: int
    not_attempted: int
    not_started: int
    hints: tuple[HintCount, ...]
    more_hints: int = 0


@dataclasses.dataclass(frozen=True)
class BoardModel:
    """The room at one moment, or why there is nothing to show (`problem`).

    `skipped_lines` / `skipped_files` count what could not be used, by reason, sorted.
    """

    label: str
    exercises: tuple[tuple[str, str], ...]
    learners: tuple[LearnerRow, ...] = ()
    summaries: tuple[ExerciseSummary, ...] = ()
    records: int = 0
    idle_after: float = DEFAULT_IDLE_MINUTES
    skipped_lines: tuple[tuple[str, int], ...] = ()
    skipped_files: tuple[tuple[str, int], ...] = ()
    problem: str | None = None

    @property
    def idle(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.learners if r.idle_minutes is not None)


# --- folder -> model ------------------------------------------------------------------------

def _folder_problem(folder: Path) -> str | None:
    try:
        if not folder.exists():
            return 'does not exist yet (no check has been recorded)'
        if not folder.is_dir():
            return 'is not a folder'
    except OSError as e:  # e.g. a parent folder we may not enter
        return f'cannot be read ({e.strerror or type(e).__name__})'
    if not os.access(folder, os.R_OK | os.X_OK):
        return 'cannot be read (permissions)'
    return None


def _progress_files(folder: Path, skipped: collections.Counter) -> list[Path]:
    files = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith('.'):
                continue  # .ipynb_checkpoints, editor swap files: not learners
            try:
                is_file = entry.is_file(follow_symlinks=False)
            except OSError:
                is_file = False
            if is_file and entry.name.endswith(progress.SUFFIX):
                files.append(Path(entry.path))
            else:
                skipped['not a progress file'] += 1
    return sorted(files)


def _learner_row(name: str, records: list[progress.Record], exercises: tuple[str, ...],
                 now: float, idle_after: float) -> LearnerRow:
    by_exercise: dict[str, list[progress.Record]] = collections.defaultdict(list)
    for rec in records:
        by_exercise[rec.exercise].append(rec)
    cells = []
    for exercise in exercises:
        recs = by_exercise.get(exercise)
        if not recs:
            cells.append(Cell())
            continue
        last = recs[-1]
        tries = sum(r.status != 'not attempted' for r in recs)
        cells.append(Cell(last.status, tries, last.hint_key, last.hint))
    last_time = max(r.time for r in records)
    row = LearnerRow(name, tuple(cells), last_time)
    idle = now - last_time
    if idle >= idle_after * 60 and not row.done:
        row = dataclasses.replace(row, idle_minutes=int(idle // 60))
    return row


def _summary(index: int, exercise: str, title: str, rows: tuple[LearnerRow, ...],
             shown: int) -> ExerciseSummary:
    cells = [r.cells[index] for r in rows]
    count = collections.Counter(c.status for c in cells)
    stuck: collections.Counter = collections.Counter()
    latest_hint: dict[str, str] = {}
    for c in cells:
        if c.status == 'failed':
            key = c.hint_key or c.hint
            stuck[key] += 1
            latest_hint.setdefault(key, c.hint)
    ranked = sorted(stuck.items(), key=lambda kv: (-kv[1], kv[0]))
    common = tuple(HintCount(key, hints.label_of(key, latest_hint[key]) or '(no hint)', n)
                   for key, n in ranked[:shown])
    return ExerciseSummary(exercise, title, count['passed'], count['failed'],
                           count['not attempted'], count[''], common, max(0, len(ranked) - shown))


def _read(path: Path, cache: dict | None) -> tuple[list, str | None]:
    """`progress.read_file`, remembered in `cache` while the file's size and mtime stay."""
    if cache is None:
        return progress.read_file(path)
    try:
        st = path.stat()
    except OSError:
        return progress.read_file(path)
    stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
    hit = cache.get(path.name)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    result = progress.read_file(path)
    cache[path.name] = (stamp, result)
    return result


def parse_board(folder: str | os.PathLike, *, now: float, idle_minutes: float = DEFAULT_IDLE_MINUTES,
                exercises: tuple[tuple[str, str], ...] = EXERCISES, label: str | None = None,
                hints_shown: int = HINTS_SHOWN, cache: dict | None = None) -> BoardModel:
    """Read every `<learner>.jsonl` of `folder` into a `BoardModel`; never raises on content.

    A learner is a file; its records are read in file order (the order they were written).
    Lines that are not records, records of an unknown exercise or of another learner's name,
    and files that are not progress files are counted in `skipped_*`, not shown. `cache`
    (a dict the caller keeps, e.g. the live view) skips re-reading files that did not change.
    """
    folder = Path(folder)
    label = label or folder.name or str(folder)
    model = BoardModel(label=label, exercises=exercises, idle_after=idle_minutes)
    problem = _folder_problem(folder)
    if problem:
        return dataclasses.replace(model, problem=problem)
    known = tuple(key for key, _ in exercises)
    known_set = set(known)
    skipped_files: collections.Counter = collections.Counter()
    skipped_lines: collections.Counter = collections.Counter()
    try:
        files = _progress_files(folder, skipped_files)
    except OSError as e:
        return dataclasses.replace(model, problem=f'cannot be listed ({e.strerror})')
    rows, total = [], 0
    for path in files:
        lines, why_not = _read(path, cache)
        if why_not:
            skipped_files[why_not] += 1
            continue
        stem = path.name[:-len(progress.SUFFIX)]
        records = []
        mine: dict[str, bool] = {}  # learner name -> whether it is this file's
        for item in lines:
            if type(item) is str:
                skipped_lines[item] += 1
            elif item.exercise not in known_set:
                skipped_lines['unknown exercise'] += 1
            else:
                ok = mine.get(item.learner)
                if ok is None:
                    ok = mine[item.learner] = progress.file_stem(item.learner) == stem
                if ok:
                    records.append(item)
                else:
                    skipped_lines["another learner's name"] += 1
        if records:
            total += len(records)
            rows.append(_learner_row(records[-1].learner, records, known, now, idle_minutes))
    rows.sort(key=lambda r: (r.name.casefold(), r.name))
    learners = tuple(rows)
    summaries = tuple(_summary(i, key, title, learners, hints_shown)
                      for i, (key, title) in enumerate(exercises))
    return dataclasses.replace(
        model, learners=learners, summaries=summaries, records=total,
        skipped_lines=tuple(sorted(skipped_lines.items())),
        skipped_files=tuple(sorted(skipped_files.items())))


# --- model -> text and HTML -----------------------------------------------------------------

def _title(m: BoardModel) -> str:
    if m.problem:
        return f'Class board {m.label}: {m.problem}'
    return (f'Class board {m.label} ({len(m.learners)} learners, {len(m.exercises)} exercises, '
            f'{m.records} records)')


def _row_note(r: LearnerRow) -> str:
    if r.done:
        return 'done'
    return f'idle {r.idle_minutes} min' if r.idle_minutes is not None else ''


def _counts_text(s: ExerciseSummary) -> str:
    return (f'{s.passed} ✓  {s.failed} ✗  {s.not_attempted} ○  {s.not_started} ·')


def _hint_text(h: HintCount) -> str:
    return f'{h.learners} learner{"s" if h.learners != 1 else ""}: {h.label}'


def _skipped_text(m: BoardModel) -> str:
    parts = []
    for what, counts in (('line', m.skipped_lines), ('file', m.skipped_files)):
        total = sum(n for _, n in counts)
        if total:
            reasons = ', '.join(f'{n} {reason}' for reason, n in counts)
            parts.append(f'{total} {what}{"s" if total != 1 else ""} ({reasons})')
    return 'skipped: ' + '; '.join(parts) if parts else ''


def board_text(m: BoardModel) -> str:
    """The board as text: title, the grid (one row per learner), hints per exercise, skips."""
    out = [_title(m)]
    if m.problem:
        return out[0]
    header = ('learner',) + tuple(title for _, title in m.exercises) + ('',)
    rows = [(r.name,) + tuple(c.text for c in r.cells) + (_row_note(r),) for r in m.learners]
    widths = [max([len(header[i])] + [len(row[i]) for row in rows]) for i in range(len(header))]
    for row in [header] + rows:
        out.append('  '.join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for s in m.summaries:
        out.append(f'{s.title}: {_counts_text(s)}')
        out += [f'  {_hint_text(h)}' for h in s.hints]
        if s.more_hints:
            out.append(f'  … {s.more_hints} other hints')
    if m.idle:
        out.append(f'idle (no check for {m.idle_after:g} min): ' + ', '.join(m.idle))
    skipped = _skipped_text(m)
    if skipped:
        out.append(skipped)
    return '\n'.join(out)


_TD = 'padding:1px 8px;text-align:center;font-family:monospace;'


def _cell_html(c: Cell) -> str:
    tip = f' title="{render.escape(c.hint)}"' if c.hint else ''
    return (f'<td{tip} style="{_TD}color:{COLORS[c.status]};'
            f'{"font-weight:bold;" if c.status == "failed" else ""}">{render.escape(c.text)}</td>')


def board_html(m: BoardModel) -> str:
    """The board as an HTML table (stuck cells in red, the hint in their tooltip), the common
    hints per exercise, the idle learners and what was skipped."""
    title = f'<b>{render.escape(_title(m))}</b>'
    if m.problem:
        return f'<div class="ckpt-widgets class-board">{title}</div>'
    head = ''.join(f'<th style="padding:1px 8px">{render.escape(t)}</th>' for _, t in m.exercises)
    body = []
    for r in m.learners:
        note = _row_note(r)
        style = 'color:#9e9e9e;font-style:italic;' if r.idle_minutes is not None else ''
        body.append(f'<tr style="{style}"><td style="padding:1px 8px">{render.escape(r.name)}</td>'
                    + ''.join(_cell_html(c) for c in r.cells)
                    + f'<td style="padding:1px 8px">{render.escape(note)}</td></tr>')
    table = (f'<table style="border-collapse:collapse;font-size:12px">'
             f'<tr><th style="text-align:left;padding:1px 8px">learner</th>{head}<th></th></tr>'
             f'{"".join(body)}</table>')
    summaries = []
    for s in m.summaries:
        items = ''.join(f'<li>{render.escape(_hint_text(h))}</li>' for h in s.hints)
        if s.more_hints:
            items += f'<li><i>… {s.more_hints} other hints</i></li>'
        summaries.append(f'<div><b>{render.escape(s.title)}</b>: {render.escape(_counts_text(s))}'
                         + (f'<ul style="margin:0">{items}</ul>' if items else '') + '</div>')
    extra = []
    if m.idle:
        extra.append(f'<div style="color:#757575">idle (no check for {m.idle_after:g} min): '
                     f'{render.escape(", ".join(m.idle))}</div>')
    skipped = _skipped_text(m)
    if skipped:
        extra.append(f'<div style="color:#757575">{render.escape(skipped)}</div>')
    return (f'<div class="ckpt-widgets class-board" style="font-family:sans-serif;font-size:13px">'
            f'{title}{table}<div style="margin-top:6px">{"".join(summaries)}</div>'
            f'{"".join(extra)}</div>')


# --- the live view --------------------------------------------------------------------------

class ClassBoard(View):
    """The live board over a progress folder (default: `CKPT_LAB_PROGRESS`).

    `now` fixes the clock (a reproducible board from a fixture folder); by default each
    refresh uses the current time, so idle learners appear as the minutes pass.

    >>> import tempfile
    >>> ClassBoard(tempfile.mkdtemp(), now=0.0).model.learners
    ()
    """

    def __init__(self, progress_dir: str | os.PathLike | None = None, *,
                 idle_minutes: float = DEFAULT_IDLE_MINUTES, now: float | None = None,
                 label: str | None = None) -> None:
        folder = progress_dir if progress_dir is not None else progress.progress_dir()
        if folder is None:
            raise ValueError(f'ClassBoard needs a progress folder: pass one, or set '
                             f'{progress.ENV_FOLDER}')
        self.folder, self.idle_minutes, self.now, self.label = Path(folder), idle_minutes, now, label
        self._cache: dict = {}  # file name -> (size, mtime, inode) and what it held
        super().__init__()

    def _build(self) -> BoardModel:
        now = self.now if self.now is not None else time.time()
        return parse_board(self.folder, now=now, idle_minutes=self.idle_minutes, label=self.label,
                           cache=self._cache)

    def _render(self, model: BoardModel) -> tuple[str, str]:
        return board_text(model), board_html(model)

    def follow(self, every: float = 1.0):
        """Refresh from a background thread every `every` seconds while the block runs."""
        return super().follow(every)

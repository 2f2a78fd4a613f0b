"""Recording the checker's verdicts, one JSON line per check, for the instructor's board.

Off unless the environment variable `CKPT_LAB_PROGRESS` names a folder: then every check
appends one record to `<folder>/<learner>.jsonl`, where the learner is `CKPT_LAB_LEARNER`,
else the login name. A record is one JSON object on one line:

    {"format": "ckpt-lab-progress/1", "learner": "ada", "exercise": "training_loop",
     "status": "failed", "hint": "you kept steps ...", "hint_key": "keep-period",
     "time": 1764820800.25}

Each record is written with ONE `os.write` on a file opened with `O_APPEND`, so records of
two kernels of the same learner land whole, one after the other, never mixed. Files are
created `0o640` (the learner writes, the instructor's group reads; see README "Recording
progress" for the folder's group, setgid and sticky bits under a hub). Recording never
changes a verdict: when it fails (full disk, unwritable folder) the verdict gets one line
of details that says so, and is otherwise the same.

>>> rec = make_record(exercise='single_array', status='failed', hint='boom', hint_key='raised:E',
...                   learner='ada', time=5.0)
>>> encode(rec)
b'{"format":"ckpt-lab-progress/1","learner":"ada","exercise":"single_array","status":"failed","hint":"boom","hint_key":"raised:E","time":5.0}\\n'
>>> file_stem('Ada Lovelace/x')
'Ada_Lovelace_x'
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import getpass
import json
import math
import os
import re
import time as _time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

ENV_FOLDER = 'CKPT_LAB_PROGRESS'
ENV_LEARNER = 'CKPT_LAB_LEARNER'
FORMAT = 'ckpt-lab-progress/1'
SUFFIX = '.jsonl'
FILE_MODE = 0o640  # owner writes, group (the instructor) reads, others nothing
STATUSES = ('passed', 'failed', 'not attempted')
HINT_CHARS = 300  # a record keeps the hint's first line, cut here: records stay small
FIELDS = ('format', 'learner', 'exercise', 'status', 'hint', 'hint_key', 'time')


def progress_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The folder that `CKPT_LAB_PROGRESS` names, or None when recording is off.

    >>> progress_dir({}) is None, str(progress_dir({'CKPT_LAB_PROGRESS': '/srv/room'}))
    (True, '/srv/room')
    """
    value = (os.environ if environ is None else environ).get(ENV_FOLDER, '').strip()
    return Path(value).expanduser() if value else None


def learner_name(environ: Mapping[str, str] | None = None) -> str:
    """`CKPT_LAB_LEARNER` if set, else the login name (`getpass.getuser()`), else 'unknown'.

    >>> learner_name({'CKPT_LAB_LEARNER': ' ada '})
    'ada'
    """
    value = (os.environ if environ is None else environ).get(ENV_LEARNER, '').strip()
    if value:
        return value
    try:
        return getpass.getuser() or 'unknown'
    except (KeyError, OSError):  # no login name (a container with an unnamed uid)
        return 'unknown'


def file_stem(learner: str) -> str:
    """The file name (without `.jsonl`) for `learner`: letters, digits, `.`, `-`, `@`, `_`.

    Anything else becomes `_`, so a name can never leave the folder ('../x' -> '.._x' stays
    inside: no `/`), and a leading dot is replaced so that the file is never hidden.
    """
    stem = re.sub(r'[^A-Za-z0-9.@_-]', '_', learner)[:100] or 'unknown'
    return '_' + stem[1:] if stem.startswith('.') else stem


def make_record(*, exercise: str, status: str, hint: str, hint_key: str, learner: str,
                time: float) -> dict:
    """One progress record (a plain dict, in the order of `FIELDS`)."""
    first_line = hint.splitlines()[0] if hint else ''
    return {'format': FORMAT, 'learner': learner, 'exercise': exercise, 'status': status,
            'hint': first_line[:HINT_CHARS], 'hint_key': hint_key, 'time': round(time, 3)}


def encode(record: dict) -> bytes:
    """A record as one line of UTF-8 JSON ending in a newline (no newline inside)."""
    return (json.dumps(record, ensure_ascii=False, separators=(',', ':')) + '\n').encode()


def append(folder: Path, learner: str, data: bytes) -> Path:
    """Append `data` (one encoded record) to the learner's file with one `os.write`.

    Creates the folder and the file when missing. Raises OSError when the disk or the
    folder refuses; a short write (a disk that filled up mid-record) raises ENOSPC after
    ending the partial line, so the next record starts on a line of its own.
    """
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, 'it names a file, not a folder')
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (file_stem(learner) + SUFFIX)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        st = os.fstat(fd)
        if st.st_size == 0 and st.st_mode & 0o777 != FILE_MODE:  # a umask narrowed it
            os.fchmod(fd, FILE_MODE)
        written = os.write(fd, data)
        if written != len(data):
            os.write(fd, b'\n')
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC) + ' (record cut short)')
    finally:
        os.close(fd)
    return path


def not_recorded_note(error: BaseException) -> str:
    """The one details line a verdict gets when its record could not be written.

    >>> not_recorded_note(OSError(28, 'No space left on device'))
    'progress not recorded (CKPT_LAB_PROGRESS): No space left on device'
    """
    reason = error.strerror if isinstance(error, OSError) and error.strerror else (
        f'{type(error).__name__}: {error}')
    return f'progress not recorded ({ENV_FOLDER}): {reason}'


def record(verdict: Any, exercise: str, *, environ: Mapping[str, str] | None = None,
           now: Callable[[], float] = _time.time) -> Any:
    """Record `verdict` of `exercise` when recording is on; return the verdict.

    Returns the same verdict when recording is off or worked; when it failed, a copy with
    one more line of details (`not_recorded_note`), and status and message unchanged.
    Never raises.
    """
    folder = progress_dir(environ)
    if folder is None:
        return verdict
    try:
        learner = learner_name(environ)
        rec = make_record(exercise=exercise, status=verdict.status,
                          hint=verdict.message if verdict.status == 'failed' else '',
                          hint_key=getattr(verdict, 'hint_key', '') or '', learner=learner,
                          time=now())
        append(folder, learner, encode(rec))
    except Exception as e:  # noqa: BLE001 - recording must never make a check fail
        return dataclasses.replace(verdict, details=tuple(verdict.details) + (not_recorded_note(e),))
    return verdict


def recorded(exercise: str) -> Callable[[Callable], Callable]:
    """Decorate a checker `check(fn) -> Verdict` so that each verdict it returns is recorded.

    >>> @recorded('demo')
    ... def check(fn): return fn
    >>> check.exercise
    'demo'
    """
    def decorate(check: Callable) -> Callable:
        @functools.wraps(check)
        def checked(fn: Callable) -> Any:
            return record(check(fn), exercise)

        checked.exercise = exercise
        return checked

    return decorate


# --- reading (what the board does with a folder) ----------------------------------------------

MAX_FILE = 16 * 1024 * 1024  # bigger files are skipped whole: a learner cannot stall the board
_STATUS_SET = frozenset(STATUSES)


class Record(NamedTuple):
    """One record as read back: the fields of `make_record` with their types checked.

    (A NamedTuple, immutable like the views' records, and quick to build: the board reads
    tens of thousands of them per refresh.)
    """

    learner: str
    exercise: str
    status: str
    hint: str
    hint_key: str
    time: float


def _as_record(data: Any) -> Record | str:
    if type(data) is not dict or data.get('format') != FORMAT:
        return 'not a progress record'
    try:
        learner, exercise, status = data['learner'], data['exercise'], data['status']
        hint, key, when = data['hint'], data['hint_key'], data['time']
    except KeyError:
        return 'not a progress record'
    if (type(learner) is str and type(exercise) is str and type(hint) is str
            and type(key) is str and status in _STATUS_SET
            and type(when) in (int, float) and math.isfinite(when)):
        return Record(learner, exercise, status, hint, key, float(when))
    return 'not a progress record'


def parse_line(line: bytes) -> Record | str:
    """A `Record`, or why the line is skipped: 'not JSON', 'not a progress record'.

    >>> parse_line(b'{"x": 1}')
    'not a progress record'
    >>> parse_line(b'{oops')
    'not JSON'
    """
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: '[[[[...' nested too deep
        return 'not JSON'
    return _as_record(data)


def _parse_lines(body: bytes) -> list[Record | str]:
    """Every line of `body` (complete lines, without the last newline) as a Record or a reason.

    Fast path: the lines as one JSON array, decoded in one call (a refresh of 25,000 records
    stays well under the board's 200 ms); when that fails or does not give one value per
    line, each line is decoded on its own to say which ones are bad.
    """
    lines = body.count(b'\n') + 1
    try:
        values = json.loads(b'[' + body.replace(b'\n', b',') + b']')
    except (ValueError, RecursionError):
        values = None
    if values is not None and len(values) == lines:
        return [_as_record(v) for v in values]
    return [parse_line(line) for line in body.split(b'\n') if line.strip()]


def read_file(path: Path) -> tuple[list[Record | str], str | None]:
    """(each line as a Record or a skip reason, None) or ([], why the whole file is skipped).

    A last line without its newline is 'truncated last line' (a record being written, or
    cut by a full disk). A file with no record at all, only lines of something else, is
    'not a progress file'.
    """
    try:
        if path.stat().st_size > MAX_FILE:
            return [], f'larger than {MAX_FILE // 2**20} MiB'
        data = path.read_bytes()
    except OSError as e:
        return [], f'unreadable ({e.strerror or type(e).__name__})'
    body, _, tail = data.rpartition(b'\n')
    out = _parse_lines(body) if body.strip() else []
    if tail.strip():
        out.append('truncated last line')
    if not any(type(r) is Record for r in out) and set(out) - {'truncated last line'}:
        return [], 'not a progress file'
    return out, None

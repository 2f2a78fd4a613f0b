"""Read a checkpoint directory from disk into the plain data of `model.py`.

Reads only: nothing here writes, renames or deletes (tests/views/test_scan.py checks that a scan
leaves every byte and timestamp alone). Symlinks are reported, never followed, so a link
loop cannot hang a view; unreadable folders become an entry that says why.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import names
from .model import DirectorySnapshot, Entry, StepState

DEFAULT_LIMIT = 40  # entries listed per folder before "... N more"


def scan_directory(path: str | os.PathLike, *, limit: int = DEFAULT_LIMIT,
                   expand: str = 'latest') -> DirectorySnapshot:
    """Scan `path` into a `DirectorySnapshot`: every entry with its role, sorted, capped.

    Folders with more than `limit` entries keep the first and last `limit // 2` (steps in
    step order, so the newest stay visible) and count the rest in `Entry.more`. `expand`
    says which step folders are listed file by file: 'latest' (the newest finished step of
    each folder, and every unfinished one), 'all' or 'none'; the others become one line
    naming their items (an unfinished step, one line saying so).

    >>> import tempfile; scan_directory(tempfile.mkdtemp()).root.children
    ()
    """
    path = Path(path)
    label = path.name or str(path)
    problem = path_problem(path)
    if problem:
        return DirectorySnapshot(label=label, root=None, problem=problem)
    if expand not in ('latest', 'all', 'none'):
        raise ValueError(f"expand must be 'latest', 'all' or 'none', got {expand!r}")
    return DirectorySnapshot(label=label, root=_scan_folder(path, label, 'container', limit, expand))


def list_steps(path: str | os.PathLike, prefix: str | None = None) -> tuple[str, list[StepState]]:
    """The steps directly under `path`: (layout, steps on disk in step order).

    `layout` names what wrote them, in the one vocabulary of `names.FORMATS`: 'orbax-manager'
    (CheckpointManager or numbered Checkpointer folders), 'orbax-v1', 'flax-orbax' (Flax
    `save_checkpoint` on the Orbax backend), 'flax-msgpack' (legacy single files), 'empty', or
    'unknown' when `path` holds entries but no steps. With `prefix`,
    only names that start with it count (Flax's `prefix=`, or Orbax's `step_prefix`).

    >>> import tempfile; list_steps(tempfile.mkdtemp())
    ('empty', [])
    """
    path = Path(path)
    problem = path_problem(path)
    if problem:
        raise FileNotFoundError(f'{path}: {problem}') if 'exist' in problem else NotADirectoryError(
            f'{path}: {problem}')
    steps: list[StepState] = []
    kinds: set[str] = set()
    with os.scandir(path) as it:
        entries = list(it)
    if not entries:
        return names.EMPTY, []
    for entry in entries:
        name = entry.name
        if prefix is not None and not name.startswith(prefix):
            continue
        step, kind = _step_kind(entry)
        if step is None:
            continue
        kinds.add(kind)
        status = names.step_status(name)
        steps.append(StepState(step=step, status=status, name=name))
    steps.sort(key=lambda s: (s.step, s.status != 'kept', s.name))
    return _layout_name(path, steps, kinds), steps


def _step_kind(entry: os.DirEntry) -> tuple[int | None, str]:
    name = entry.name
    if names.process_of(name) is not None:
        return None, ''
    try:
        is_dir = entry.is_dir(follow_symlinks=False)
    except OSError:
        return None, ''
    step = names.step_of(name)
    if step is None:
        return None, ''
    if is_dir:
        return step, 'dir'
    return (step, 'file') if entry.is_file(follow_symlinks=False) and not names.is_tmp_name(name) else (None, '')


def _layout_name(path: Path, steps: list[StepState], kinds: set[str]) -> str:
    if not steps:
        return names.UNKNOWN
    if kinds == {'file'}:
        return names.FLAX_MSGPACK
    finished = [s for s in steps if s.status == 'kept']
    sample = (finished or steps)[-1].name
    # A pytree written straight into a step folder (no item folders) under a prefixed name
    # is Flax's save_checkpoint on the Orbax backend; numbered ones come from a Checkpointer.
    if (path / sample / names.PYTREE_METADATA_FILE).exists() and not sample.isdigit():
        return names.FLAX_ORBAX
    return names.orbax_step_format(path / sample)


def path_problem(path: Path) -> str | None:
    """Why `path` cannot be scanned as a directory ('does not exist', ...), or None."""
    if path.is_symlink() and not path.exists():
        return 'is a broken symlink'
    if not path.exists():
        return 'does not exist'
    if not path.is_dir():
        return 'is a file, not a directory'
    return None


# Context of a folder decides how its children are read: a step's children are items, an
# item's children are its files, and only in a plain container can a name be a step.
# A plain folder keeps its parent's context, except below a step or item.
_CHILD_CONTEXT = {'container': 'container', 'step': 'item', 'item': 'data', 'data': 'data'}


def _scan_folder(path: Path, name: str, context: str, limit: int, expand: str, role: str = '',
                 step: int | None = None, note: str = '') -> Entry:
    try:
        with os.scandir(path) as it:
            items = list(it)
    except OSError as e:
        return Entry(name=name, kind='unreadable', role=role, step=step,
                     note=f'cannot be read: {e.strerror or e}')
    items.sort(key=_sort_key)
    shown, more = _cap(items, limit)
    latest = _latest_finished_step(shown) if context == 'container' and expand == 'latest' else None
    children = tuple(_entry_for(item, context, limit,
                                'all' if expand == 'all' or item.name == latest else expand)
                     for item in shown)
    return Entry(name=name, kind='dir', role=role, step=step, note=note, children=children,
                 more=more)


def _sort_key(entry: os.DirEntry):
    step = names.step_of(entry.name)
    # Steps first in step order (so 10 follows 9), then everything else by name.
    return (0, step, entry.name) if step is not None and names.process_of(entry.name) is None else (
        1, 0, entry.name)


def _cap(items: list, limit: int) -> tuple[list, int]:
    if len(items) <= limit:
        return items, 0
    half = max(limit // 2, 1)
    return items[:half] + items[-half:], len(items) - 2 * half


def _latest_finished_step(items: list[os.DirEntry]) -> str | None:
    finished = [e.name for e in items if names.step_of(e.name) is not None
                and names.process_of(e.name) is None and not names.is_tmp_name(e.name)]
    return finished[-1] if finished else None  # items are in step order


def _entry_for(entry: os.DirEntry, context: str, limit: int, expand: str) -> Entry:
    name = entry.name
    try:
        if entry.is_symlink():
            return Entry(name=name, kind='link', note=f'symlink to {os.readlink(entry.path)}')
        is_dir = entry.is_dir(follow_symlinks=False)
    except OSError as e:
        return Entry(name=name, kind='unreadable', note=f'cannot be read: {e.strerror or e}')
    if is_dir:
        return _folder_entry(entry, context, limit, expand)
    return _file_entry(entry, context)


def _folder_entry(entry: os.DirEntry, context: str, limit: int, expand: str) -> Entry:
    name, path = entry.name, Path(entry.path)
    process = names.process_of(name)
    if name in names.COLLAPSED_DIRS:
        return Entry(name=name, kind='dir', role=names.DIR_ROLES[name],
                     note='random file names, not listed')
    if process is not None:
        return _scan_folder(path, name, 'data', limit, expand, role=f'process {process} data')
    if name in names.DIR_ROLES:
        return _scan_folder(path, name, 'data', limit, expand, role=names.DIR_ROLES[name])
    if (path / '.zarray').exists():  # a single array in zarr form: chunk files named 0, 0.1, ...
        return _scan_folder(path, name, 'data', limit, expand, role='zarr array')
    step = names.step_of(name)
    if context == 'container' and step is not None:
        if names.is_tmp_name(name):
            if expand == 'none':
                return Entry(name=name, kind='dir', role='unfinished step', step=step,
                             note='save not committed')
            return _scan_folder(path, name, 'step', limit, 'all', role='unfinished step',
                                step=step, note='save not committed')
        if expand != 'all':
            return _collapsed_step(path, name, step)
        return _scan_folder(path, name, 'step', limit, expand, role='step', step=step)
    if names.is_tmp_name(name):
        return _scan_folder(path, name, 'data', limit, expand, role='unfinished',
                            note='save not committed')
    if context == 'step':
        return _scan_folder(path, name, 'item', limit, expand, role='item')
    return _scan_folder(path, name, _CHILD_CONTEXT[context], limit, expand)


def _collapsed_step(path: Path, name: str, step: int) -> Entry:
    """A finished step as one line: its items, or 'pytree' for a Flax/Orbax pytree folder."""
    try:
        with os.scandir(path) as it:
            items = sorted(e.name for e in it if e.is_dir(follow_symlinks=False)
                           and e.name not in names.DIR_ROLES and names.process_of(e.name) is None)
            has_tree = (path / names.PYTREE_METADATA_FILE).exists()
    except OSError as e:
        return Entry(name=name, kind='unreadable', role='step', step=step,
                     note=f'cannot be read: {e.strerror or e}')
    what = 'pytree' if has_tree else ('items: ' + ', '.join(items) if items else 'no items')
    return Entry(name=name, kind='dir', role='step', step=step, note=what)


def _file_entry(entry: os.DirEntry, context: str) -> Entry:
    name = entry.name
    try:
        size = entry.stat(follow_symlinks=False).st_size
    except OSError as e:
        return Entry(name=name, kind='unreadable', note=f'cannot be read: {e.strerror or e}')
    if name in names.VOLATILE_FILES:
        size = None
    role = names.FILE_ROLES.get(name, '')
    step = None
    if context == 'container':
        step = names.step_of(name)
        if step is not None:
            role = 'flax msgpack step'
        elif name.endswith('tmp'):
            role = 'flax unfinished save'
    elif context == 'item' and not role and name == 'metadata':
        role = 'JSON item'
    return Entry(name=name, kind='file', role=role, size=size, step=step)

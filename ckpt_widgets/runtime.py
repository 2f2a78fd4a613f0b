"""The notebook's surroundings: host devices, quiet logs, working directories, versions.

`use_host_devices` must run before JAX starts; everything else can run at any time.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import re
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Iterator

_FORCE_FLAG = '--xla_force_host_platform_device_count'


def use_host_devices(count: int = 8) -> None:
    """Make JAX's CPU backend pretend to have `count` devices. Call before any JAX operation.

    Sets `XLA_FLAGS` (which child processes inherit) and `jax_num_cpu_devices`. If JAX has
    already started with another device count, raises RuntimeError saying how to recover
    (restart the kernel), because a running backend cannot change its device count.

    >>> # use_host_devices(8); import jax; jax.device_count()  -> 8
    """
    import jax

    from .upstream import jax_backends_started

    if jax_backends_started():
        have = jax.device_count()
        if have != count or jax.default_backend() != 'cpu':
            raise RuntimeError(
                f'JAX already started with {have} {jax.default_backend()} device(s); '
                f'use_host_devices({count}) must run before any JAX operation. '
                'Restart the kernel and run this cell first.')
        return
    flags = re.sub(rf'{_FORCE_FLAG}=\d+', '', os.environ.get('XLA_FLAGS', '')).split()
    os.environ['XLA_FLAGS'] = ' '.join(flags + [f'{_FORCE_FLAG}={count}'])
    os.environ.setdefault('JAX_PLATFORMS', 'cpu')
    jax.config.update('jax_platforms', 'cpu')
    jax.config.update('jax_num_cpu_devices', count)


def quiet_logs() -> None:
    """Keep absl/Orbax log records (e.g. 'Tensorflow library not found') out of cell outputs.

    Orbax logs through absl, which forwards to Python's `logging` logger 'absl' until absl's
    own handler is installed. Even its errors are silenced: they come from background threads
    with tracebacks, at moments that vary run to run, and Orbax raises the same error in the
    thread that called it. For the same reason the leftovers of failed reads (un-awaited
    coroutines, unretrieved task errors, reported at garbage collection) are dropped: see
    `failure_noise`. `show_logs` shows a block's records, one line each.
    """
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    logging.getLogger('absl').setLevel(logging.CRITICAL)
    from .failure_noise import ignore_failed_read_leftovers
    ignore_failed_read_leftovers()  # what failed reads print when garbage-collected, later
    try:
        from absl import logging as absl_logging
        absl_logging.set_verbosity(absl_logging.FATAL)
    except ImportError:  # pragma: no cover - absl comes with orbax
        pass


def setup(devices: int = 8) -> None:
    """The first cell of every notebook: `devices` host CPU devices for JAX, and quiet logs.

    Must run before any JAX operation (see `use_host_devices`).

    >>> # import ckpt_widgets as cw; cw.setup(devices=8)
    """
    use_host_devices(devices)
    quiet_logs()


@contextlib.contextmanager
def flax_msgpack_writer(enabled: bool = True, *, hide_deprecation: bool = False) -> Iterator[None]:
    """Flax's legacy msgpack writer inside the block (`enabled=False`: its Orbax backend), then
    whatever was set before. The one place that switches `flax_use_orbax_checkpointing`.

    `hide_deprecation` drops the DeprecationWarnings of the block (Flax's own
    "Flax Checkpointing will soon be deprecated"), for callers that only need old files.

    >>> import flax
    >>> with flax_msgpack_writer():
    ...     flax.config.flax_use_orbax_checkpointing
    False
    >>> flax.config.flax_use_orbax_checkpointing
    True
    """
    import flax

    before = flax.config.flax_use_orbax_checkpointing
    flax.config.update('flax_use_orbax_checkpointing', not enabled)
    try:
        with warnings.catch_warnings():
            if hide_deprecation:
                warnings.simplefilter('ignore', DeprecationWarning)
            yield
    finally:
        flax.config.update('flax_use_orbax_checkpointing', before)


_THREAD_TAG = re.compile(r'\[thread=[^\]]*\]')


class _LinePrinter(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        # Orbax prefixes messages with '[process=0][thread=Thread-12 (...)]': the thread
        # number counts every thread the kernel ever started, so it is dropped.
        message = _THREAD_TAG.sub('', record.getMessage())
        self.lines.append(f'{record.levelname.lower()}: {message}')


@contextlib.contextmanager
def show_logs(level: int = logging.WARNING) -> Iterator[list[str]]:
    """Print, deterministically, the log records and Python warnings a block emits.

    Each becomes one line on stdout after the block, like `warning: <message>` or
    `DeprecationWarning: <message>`, without time stamps, file names or line numbers (which
    differ run to run and machine to machine). Yields the list of lines as they arrive.

    >>> import logging
    >>> with show_logs():
    ...     logging.getLogger('absl').warning('deprecated legacy API')
    warning: deprecated legacy API
    """
    lines: list[str] = []
    handler = _LinePrinter(lines)
    handler.setLevel(level)
    logger = logging.getLogger('absl')
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
        for w in caught:
            lines.append(f'{w.category.__name__}: {w.message}')
        for line in dict.fromkeys(lines):  # each distinct message once, in order
            print(line)


_BASE: Path | None = None
WORKDIR_ENV = 'CKPT_LAB_WORKDIR'


def workdir(name: str) -> Path:
    """A fresh, empty, absolute directory for one notebook's checkpoints.

    All of them live under one base per kernel: `$CKPT_LAB_WORKDIR` when set (an instructor
    can give each learner their own), else a new `ckpt-lab-*` folder in the system temp dir,
    so two learners or two runs never share a checkpoint directory.

    >>> workdir('demo').is_absolute()
    True
    """
    if not name or os.sep in name or name in ('.', '..'):
        raise ValueError(f'workdir name must be a plain folder name, got {name!r}')
    path = workdir_base() / name
    if path.exists():
        shutil.rmtree(path)
    path.mkdir()
    return path


def workdir_base() -> Path:
    """The folder every `workdir` of this kernel lives in, made on first use.

    >>> workdir('demo').parent == workdir_base()
    True
    """
    global _BASE
    if _BASE is None:
        chosen = os.environ.get(WORKDIR_ENV)
        if chosen:
            _BASE = Path(chosen).expanduser().resolve()
            _BASE.mkdir(parents=True, exist_ok=True)
        else:
            _BASE = Path(tempfile.mkdtemp(prefix='ckpt-lab-')).resolve()
    return _BASE


@contextlib.contextmanager
def workdir_base_at(base: str | os.PathLike) -> Iterator[Path]:
    """Inside the block, every `workdir` is made under `base` (an existing folder); tests use
    it to keep each run's folders apart. The previous base is back afterwards.

    >>> import tempfile
    >>> with workdir_base_at(tempfile.mkdtemp()) as base:
    ...     workdir('demo').parent == base
    True
    """
    global _BASE
    before = _BASE
    _BASE = Path(base).resolve()
    try:
        yield _BASE
    finally:
        _BASE = before


PACKAGES = ('jax', 'jaxlib', 'flax', 'orbax-checkpoint', 'tensorstore', 'numpy', 'optax',
            'ipywidgets')


def pinned_versions(distribution: str = 'orbax-migration-lab') -> dict[str, str]:
    """The exact pins (`name==version`) this package was installed with, by package name."""
    pins = {}
    for requirement in importlib.metadata.requires(distribution) or []:
        m = re.match(r'([A-Za-z0-9_.-]+)==([^;\s]+)', requirement)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def version_table(packages: tuple[str, ...] = PACKAGES) -> str:
    """A text table: package, pinned version, installed version, and whether they match."""
    pins = pinned_versions()
    rows = [('package', 'pinned', 'installed', 'ok')]
    for name in packages:
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = '(missing)'
        pinned = pins.get(name, '')
        rows.append((name, pinned, installed, 'yes' if installed == pinned else 'NO'))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ['  '.join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    lines.append(f'python  {sys.version_info.major}.{sys.version_info.minor}')
    return '\n'.join(lines)


def in_colab() -> bool:
    """Whether this kernel runs in Google Colab."""
    return 'google.colab' in sys.modules

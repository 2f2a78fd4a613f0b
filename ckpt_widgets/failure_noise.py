"""Keep what failed checkpoint reads leave behind out of later notebook cells.

A restore that fails inside tensorstore (a damaged step, a wrong target shape) raises at once,
but it can leave Orbax coroutines and asyncio tasks behind that Python reports on stderr only
when they are garbage-collected, in whichever cell runs then, with memory addresses that
change every run:

* ``Exception ignored in: <coroutine object _read_array_index_and_device_put at 0x...>``
  (``sys.unraisablehook``);
* ``Task exception was never retrieved ... exception=ValueError('DATA_LOSS: ...')``
  (the ``asyncio`` logger);
* ``RuntimeWarning: coroutine '_read_array_index_and_device_put' was never awaited``
  (and ``'Store._get_array_metadatas'``), a warning attributed to whatever code the garbage
  collection happened in.

When that happens is a race with tensorstore's threads (about half of the runs measured; it
can come long after the failing cell), so collecting them at the end of the cell is not
enough. :func:`ignore_failed_read_leftovers` drops exactly these three kinds, for the rest of
the session, and passes everything else on.

A fourth kind is printed straight to ``sys.stderr`` from a tensorstore thread a few
milliseconds after the failure, when it hands a late result to Orbax's event loop that has
already been closed: ``Traceback ... uvloop.loop.Loop.call_soon_threadsafe ... RuntimeError:
Event loop is closed``. No hook sees it; :func:`swallowed` wraps the failing calls, drops
stderr for their duration and waits briefly for those threads.

The errors themselves are raised where they happen and are not affected.

Example::

    >>> ignore_failed_read_leftovers()
    >>> ignore_failed_read_leftovers()  # idempotent
    >>> with swallowed():
    ...     pass
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import re
import sys
import tempfile
import time
import warnings
from typing import Any, Iterator

# Where a leftover coroutine's code lives.
_LIBRARY_PATH = re.compile(r'[/\\](orbax|tensorstore)[/\\]')
# A tensorstore error names its absl status code first: "DATA_LOSS: Error reading ...".
_TENSORSTORE_STATUS = re.compile(
    r'^(CANCELLED|UNKNOWN|INVALID_ARGUMENT|DEADLINE_EXCEEDED|NOT_FOUND|ALREADY_EXISTS|'
    r'PERMISSION_DENIED|RESOURCE_EXHAUSTED|FAILED_PRECONDITION|ABORTED|OUT_OF_RANGE|'
    r'UNIMPLEMENTED|INTERNAL|UNAVAILABLE|DATA_LOSS|UNAUTHENTICATED): ')
_NEVER_RETRIEVED = 'Task exception was never retrieved'
# Orbax coroutines seen un-awaited after a failed read (orbax-checkpoint 0.12.8).
_NEVER_AWAITED = (r"coroutine '(_read_array_index_and_device_put|Store\._get_array_metadatas)'"
                  r' was never awaited')


def is_failed_read_leftover(unraisable: Any) -> bool:
    """True for an unraisable report about a coroutine of Orbax or tensorstore.

    ``unraisable`` is what ``sys.unraisablehook`` receives.

    Example::

        >>> import types
        >>> is_failed_read_leftover(types.SimpleNamespace(object=print))
        False
    """
    code = getattr(getattr(unraisable, 'object', None), 'cr_code', None)
    return code is not None and bool(_LIBRARY_PATH.search(code.co_filename))


def is_closed_loop_callback(error: BaseException | None, tb: Any) -> bool:
    """True for 'Event loop is closed' raised inside uvloop's call_soon_threadsafe.

    A tensorstore thread finishing a failed read hands its result to an event loop Orbax
    already closed; the error goes to `sys.unraisablehook`, which prints it into whatever
    cell runs at that moment.

    Example::

        >>> is_closed_loop_callback(RuntimeError('Event loop is closed'), None)
        False
    """
    if not isinstance(error, RuntimeError) or str(error) != 'Event loop is closed':
        return False
    while tb is not None:
        if 'uvloop' in tb.tb_frame.f_code.co_filename or tb.tb_frame.f_code.co_name == 'call_soon_threadsafe':
            return True
        tb = tb.tb_next
    return False


class _NeverRetrievedReadErrors(logging.Filter):
    """Drops asyncio's 'Task exception was never retrieved' for tensorstore errors only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(_NEVER_RETRIEVED):
            return True
        error = record.exc_info[1] if record.exc_info else None
        return not (error is not None and _TENSORSTORE_STATUS.match(str(error)))


_FILTER = _NeverRetrievedReadErrors()


def ignore_failed_read_leftovers() -> None:
    """From now on, drop the stderr leftovers of failed Orbax/tensorstore reads.

    Installs a ``sys.unraisablehook`` that ignores :func:`is_failed_read_leftover` reports
    or :func:`is_closed_loop_callback` reports and hands every other one to the hook that
    was there before, a filter on the
    ``asyncio`` logger, and warning filters for un-awaited Orbax coroutines (by name, or
    any raised from Orbax/tensorstore code). Calling it again changes nothing.

    Example::

        >>> ignore_failed_read_leftovers()
    """
    if not getattr(sys.unraisablehook, '_ckpt_widgets_failure_noise', False):
        previous = sys.unraisablehook

        def hook(unraisable: Any) -> None:
            if not (is_failed_read_leftover(unraisable) or is_closed_loop_callback(
                    getattr(unraisable, 'exc_value', None),
                    getattr(unraisable, 'exc_traceback', None))):
                previous(unraisable)

        hook._ckpt_widgets_failure_noise = True  # type: ignore[attr-defined]
        sys.unraisablehook = hook
    asyncio_logger = logging.getLogger('asyncio')
    if _FILTER not in asyncio_logger.filters:
        asyncio_logger.addFilter(_FILTER)
    # filterwarnings moves an identical filter to the front instead of adding it twice.
    warnings.filterwarnings('ignore', message=_NEVER_AWAITED, category=RuntimeWarning)
    warnings.filterwarnings('ignore', message="coroutine '.*' was never awaited",
                            category=RuntimeWarning, module=r'(orbax|tensorstore)\.')


@contextlib.contextmanager
def swallowed() -> Iterator[None]:
    """Run restores that may fail; drop what they print to stderr meanwhile and just after.

    Silences ``sys.stderr``, fd 2, warnings and the ``asyncio`` logger inside the block, then
    waits about 0.2 s and garbage-collects so that late prints from tensorstore threads land
    here too (the same as :func:`ckpt_widgets.lab.failures.corruption.restore_outcomes` does).
    Exceptions raised in the block propagate unchanged.

    Example::

        >>> import sys
        >>> with swallowed():
        ...     print('lost', file=sys.stderr)
    """
    asyncio_logger = logging.getLogger('asyncio')
    old_level = asyncio_logger.level
    asyncio_logger.setLevel(logging.CRITICAL)
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile() as sink, contextlib.redirect_stderr(io.StringIO()):
        os.dup2(sink.fileno(), 2)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                yield
                gc.collect()
                time.sleep(0.2)  # the tracebacks come from tensorstore's threads
                gc.collect()
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            asyncio_logger.setLevel(old_level)

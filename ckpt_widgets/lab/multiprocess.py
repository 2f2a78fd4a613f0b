"""Run a real multi-process JAX job on this machine, bounded and cleaned up.

A notebook kernel cannot become "process 1 of 2" itself: ``jax.distributed``
must be initialised before any computation, once per process. So we start N
child interpreters (``sys.executable``), each with its own forced CPU devices,
joined through a coordinator on ``127.0.0.1``. Every wait has a deadline;
children run in their own process groups so that a timeout, a failing worker
or a Ctrl-C in the notebook kills all of them (and anything they started).

Example (two JAX processes with 4 CPU devices each save one global array)::

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     result = save_global_array_from_processes(os.path.join(tmp, 'ckpts'))
    >>> result.returncodes
    (0, 0)
    >>> result.reports[0]['files_named_for_me']
    ['default/array_metadatas/process_0', 'default/ocdbt.process_0']
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ckpt_widgets.lab import multiprocess_worker as _worker
from ckpt_widgets.lab.child import Child, absolute_dir, kill_all
from ckpt_widgets.shown import Shown

__all__ = [
    'ProcessRunError',
    'ProcessRunResult',
    'WORKER_MODES',
    'free_local_port',
    'run_processes',
    'save_global_array_from_processes',
]

WORKER_MODES = _worker.MODES
WORKER_SCRIPT = Path(_worker.__file__).resolve()
REPORT_PREFIX = _worker.REPORT_PREFIX

# C++ (glog/absl) INFO and WARNING lines such as
# "W0000 00:00:1764446152.812380   12345 coordination_service.cc:123] ..." or
# "I1129 19:56:00.123456 12345 client.cc:88] ...", and the absl pre-init
# banner: noise next to the Python traceback we want. ERROR lines stay.
_CPP_LOG_LINE = re.compile(r'^[IW]\d{4} [\d:.]+\s+\d+ \S+:\d+\] ')
_NOISE_FRAGMENTS = (
    'All log messages before absl::InitializeLog() is called',
    '[Gloo] Rank ',
)
# Report fields that change from run to run: kept in `reports`, not printed.
_VOLATILE_REPORT_KEYS = ('directory', 'elapsed_s')
_POLL_SECONDS = 0.05


@dataclasses.dataclass(frozen=True, repr=False)
class ProcessRunResult(Shown):
    """What a multi-process run did, one entry per process (index = process id).

    Example::

        result.returncodes   # (0, 0)
        result.reports[1]['rows_held']   # [[32, 40], [40, 48], ...]
    """

    returncodes: tuple[int | None, ...]
    reports: tuple[dict | None, ...]
    stderr_tails: tuple[str, ...]
    elapsed_s: float
    port: int
    pids: tuple[int, ...]
    timed_out: bool = False
    failed_process: int | None = None

    @property
    def ok(self) -> bool:
        """True when every process exited with code 0 before the deadline."""
        return not self.timed_out and all(code == 0 for code in self.returncodes)

    @property
    def text(self) -> str:
        r"""One line per process: how it ended and what it last reported.

        Leaves out pids, the port, timings and paths, so a notebook can print it
        as a checked output.

        >>> ProcessRunResult((0, -9), ({'stage': 'done'}, None), ('', ''), 1.0, 1, (8, 9))
        process 0: exit 0; stage="done"
        process 1: killed by SIGKILL; reported nothing
        """
        lines = []
        for i, code in enumerate(self.returncodes):
            report = self.reports[i]
            if report is None:
                told = 'reported nothing'
            else:
                told = ' '.join(
                    f'{key}={json.dumps(value)}'
                    for key, value in sorted(report.items())
                    if key not in _VOLATILE_REPORT_KEYS
                )
            lines.append(f'process {i}: {_describe_exit(code)}; {told}')
        return '\n'.join(lines)


class ProcessRunError(RuntimeError):
    """A worker failed or the run hit its timeout; all children were killed.

    ``error.result`` is the :class:`ProcessRunResult` with exit codes, reports
    and stderr tails. Example::

        try:
          run_processes(script, timeout=5)
        except ProcessRunError as error:
          print(error.result.timed_out, error.result.returncodes)
    """

    def __init__(self, message: str, result: ProcessRunResult):
        super().__init__(message)
        self.result = result


def free_local_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    >>> 1024 <= free_local_port() < 65536
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_processes(
    worker: str | os.PathLike,
    worker_args: Sequence[str] = (),
    *,
    num_processes: int = 2,
    devices_per_process: int = 4,
    timeout: float = 60.0,
    stderr_tail_lines: int = 12,
) -> ProcessRunResult:
    """Start ``num_processes`` Python workers as one JAX cluster and wait.

    ``worker`` is a script path (``*.py``, run with ``python -P``, so its folder
    is not on ``sys.path``) or a module name (run with ``-m``).
    Each child gets ``CKPT_COORDINATOR_ADDRESS``, ``CKPT_NUM_PROCESSES`` and
    ``CKPT_PROCESS_ID`` to pass to ``jax.distributed.initialize``, and exactly
    ``devices_per_process`` CPU devices. A worker reports by printing lines
    ``CKPT_WORKER_REPORT <json>`` on stdout; the last one counts.

    Returns when all exit with code 0. Raises :class:`ProcessRunError` as soon
    as one exits non-zero, or at ``timeout`` seconds; either way every child is
    killed first. Example::

        result = run_processes(WORKER_SCRIPT, ['--directory', '/tmp/ckpts'])
    """
    _check_run_arguments(num_processes, devices_per_process, timeout)
    command = _worker_command(worker)
    port = free_local_port()
    started = time.monotonic()
    deadline = started + timeout
    children: list[Child] = []
    outputs = []
    with contextlib.ExitStack() as stack:
        log_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix='ckpt-mp-logs-'))
        try:
            for i in range(num_processes):
                # Files, not pipes: a chatty worker can never block on a full pipe.
                out = stack.enter_context(open(os.path.join(log_dir, f'{i}.out'), 'w+b'))
                err = stack.enter_context(open(os.path.join(log_dir, f'{i}.err'), 'w+b'))
                outputs.append((out, err))
                children.append(Child(
                    [*command, *map(str, worker_args)],
                    stdout=out,
                    stderr=err,
                    env=_child_environment(port, num_processes, i, devices_per_process),
                ))
            failed, timed_out = _wait_for_all(children, deadline)
        finally:
            # Also on KeyboardInterrupt or a failed start: never leave a worker behind.
            kill_all(children)
        result = ProcessRunResult(
            returncodes=tuple(c.returncode for c in children),
            reports=tuple(_read_report(out) for out, _ in outputs),
            stderr_tails=tuple(_read_tail(err, stderr_tail_lines) for _, err in outputs),
            elapsed_s=round(time.monotonic() - started, 2),
            port=port,
            pids=tuple(c.pid for c in children),
            timed_out=timed_out,
            failed_process=failed,
        )
    if not result.ok:
        raise ProcessRunError(_failure_message(result, timeout), result)
    return result


def save_global_array_from_processes(
    directory: str | os.PathLike,
    *,
    mode: str = 'every_process_saves',
    num_processes: int = 2,
    devices_per_process: int = 4,
    shape: tuple[int, int] = (64, 16),
    step: int = 0,
    timeout: float = 30.0,
    barrier_timeout: int | None = None,
) -> ProcessRunResult:
    """Save one global ``shape`` array, sharded by rows over all devices, from N processes.

    ``mode`` picks the right way (``'every_process_saves'``) or a classic
    mistake (see ``ckpt_widgets.lab.multiprocess_worker``). ``barrier_timeout``
    shortens Orbax's own barrier wait (default 1200 s) so it can fail first.
    Values are ``arange`` (see ``multiprocess_worker.global_values``).

    Example::

        result = save_global_array_from_processes('/tmp/ckpts')
        result.reports[0]['files_named_for_me']
        # ['default/array_metadatas/process_0', 'default/ocdbt.process_0']
    """
    directory = os.fspath(absolute_dir(directory, empty=False))
    if mode not in WORKER_MODES:
        raise ValueError(f'unknown mode {mode!r}; choose one of {", ".join(WORKER_MODES)}')
    _check_run_arguments(num_processes, devices_per_process, timeout)
    rows, cols = shape
    devices = num_processes * devices_per_process
    if rows % devices:
        raise ValueError(f'shape[0]={rows} must be divisible by the {devices} devices it is sharded over')
    args = ['--directory', directory, '--mode', mode, '--rows', rows, '--cols', cols, '--step', step]
    if barrier_timeout is not None:
        args += ['--barrier-timeout', barrier_timeout]
    return run_processes(
        WORKER_SCRIPT,
        args,
        num_processes=num_processes,
        devices_per_process=devices_per_process,
        timeout=timeout,
    )


def _check_run_arguments(num_processes, devices_per_process, timeout) -> None:
    if num_processes < 1 or devices_per_process < 1:
        raise ValueError(
            f'need at least 1 process and 1 device each, got num_processes={num_processes},'
            f' devices_per_process={devices_per_process}'
        )
    if not timeout > 0:
        raise ValueError(f'timeout must be a positive number of seconds, got {timeout!r}')


def _worker_command(worker) -> list[str]:
    text = os.fspath(worker)
    if text.endswith('.py') or os.sep in text:
        path = Path(text).resolve()
        if not path.is_file():
            raise FileNotFoundError(f'worker script not found: {path}')
        # -P: the script's own folder (ckpt_widgets/lab/ for our worker) must not go
        # on sys.path, where files like runtime.py could shadow real modules.
        return [sys.executable, '-P', str(path)]
    if not re.fullmatch(r'[A-Za-z_][\w.]*', text):
        raise ValueError(f'worker must be a *.py path or a module name, got {text!r}')
    return [sys.executable, '-m', text]


def _child_environment(port: int, num_processes: int, process_id: int, devices: int) -> dict:
    env = dict(os.environ)
    # The kernel may have forced 8 devices for itself: replace, don't append.
    flags = re.sub(r'--xla_force_host_platform_device_count=\S*', '', env.get('XLA_FLAGS', ''))
    env['XLA_FLAGS'] = f'{flags.strip()} --xla_force_host_platform_device_count={devices}'.strip()
    # JAX_NUM_CPU_DEVICES beats XLA_FLAGS when both are set, so set it too.
    env['JAX_NUM_CPU_DEVICES'] = str(devices)
    env['JAX_PLATFORMS'] = 'cpu'
    # So `-m ckpt_widgets...` works whatever the kernel's working directory.
    package_root = str(WORKER_SCRIPT.parents[2])
    env['PYTHONPATH'] = os.pathsep.join(p for p in (package_root, env.get('PYTHONPATH')) if p)
    env[_worker.ENV_COORDINATOR] = f'127.0.0.1:{port}'
    env[_worker.ENV_NUM_PROCESSES] = str(num_processes)
    env[_worker.ENV_PROCESS_ID] = str(process_id)
    return env


def _wait_for_all(children, deadline) -> tuple[int | None, bool]:
    """Poll until all exit 0 (None, False), one fails (its id, False) or timeout (None, True)."""
    while True:
        codes = [c.returncode for c in children]
        for i, code in enumerate(codes):
            if code not in (None, 0):
                return i, False
        if all(code == 0 for code in codes):
            return None, False
        if time.monotonic() >= deadline:
            return None, True
        time.sleep(_POLL_SECONDS)


def _read_report(stream) -> dict | None:
    stream.seek(0)
    report = None
    for raw in stream.read().decode(errors='replace').splitlines():
        if raw.startswith(REPORT_PREFIX):
            try:
                report = json.loads(raw[len(REPORT_PREFIX):])
            except json.JSONDecodeError:
                report = {'unparsed_report': raw[len(REPORT_PREFIX):]}
    return report


def _read_tail(stream, max_lines: int) -> str:
    stream.seek(0)
    lines = [
        line
        for line in stream.read().decode(errors='replace').splitlines()
        if line.strip()
        and not _CPP_LOG_LINE.match(line)
        and not any(fragment in line for fragment in _NOISE_FRAGMENTS)
    ]
    return '\n'.join(lines[-max_lines:])


def _describe_exit(code: int | None) -> str:
    if code is None:
        return 'still running (could not be killed)'
    if code < 0:
        return f'killed by {signal.Signals(-code).name}'
    return f'exit {code}'


def _failure_message(result: ProcessRunResult, timeout: float) -> str:
    if result.timed_out:
        head = f'timed out after {timeout:g} s; killed every process still running'
    else:
        code = result.returncodes[result.failed_process]
        head = (
            f'process {result.failed_process} failed ({_describe_exit(code)});'
            ' killed every process still running'
        )
    parts = [head, result.text]
    if result.timed_out:
        for i, tail in enumerate(result.stderr_tails):
            if 'Traceback (most recent call last)' in tail:
                parts.append(
                    f'process {i} raised but did not exit: at exit JAX waits in'
                    ' jax.distributed.shutdown() for peers that never arrive'
                )
    for i, tail in enumerate(result.stderr_tails):
        if tail:
            parts.append(f'--- last stderr lines of process {i} ---\n{tail}')
    return '\n'.join(parts)

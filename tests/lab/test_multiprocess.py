"""Real 2-process JAX runs through ckpt_widgets.lab.multiprocess (about 35 s in all).

Each run uses 2 processes x 4 forced CPU devices on 127.0.0.1. After every
run we check that no child is left and that the coordinator port is free.
"""

import logging
import os
import sys
import textwrap

import numpy as np
import pytest

import ckpt_widgets
from ckpt_widgets.lab import child, multiprocess
from ckpt_widgets.lab.multiprocess import (
  ProcessRunError,
  run_processes,
  save_global_array_from_processes,
)
from ckpt_widgets.lab.multiprocess_worker import global_values
from tests.helpers import gone_within, is_running, port_is_free

logging.getLogger('absl').setLevel(logging.ERROR)

ROWS_OF_PROCESS_0 = [[0, 8], [8, 16], [16, 24], [24, 32]]
ROWS_OF_PROCESS_1 = [[32, 40], [40, 48], [48, 56], [56, 64]]


def _assert_cleaned_up(result) -> None:
    assert [pid for pid in result.pids if is_running(pid)] == []
    assert port_is_free(result.port)


def _names(path) -> set[str]:
    return set(os.listdir(path))


def test_every_process_saves_one_checkpoint_with_a_folder_per_process(tmp_path, monkeypatch):
    import orbax.checkpoint as ocp

    # A notebook kernel typically forced 8 devices for itself: children must get 4 each.
    monkeypatch.setenv('XLA_FLAGS', '--xla_force_host_platform_device_count=8')
    monkeypatch.setenv('JAX_NUM_CPU_DEVICES', '8')
    directory = tmp_path / 'ckpts'
    result = save_global_array_from_processes(str(directory))

    assert result.returncodes == (0, 0)
    assert [r['stage'] for r in result.reports] == ['done', 'done']
    assert [r['saved'] for r in result.reports] == [True, True]
    assert [r['global_device_count'] for r in result.reports] == [8, 8]
    assert [len(r['local_device_ids']) for r in result.reports] == [4, 4]
    assert result.reports[0]['rows_held'] == ROWS_OF_PROCESS_0
    assert result.reports[1]['rows_held'] == ROWS_OF_PROCESS_1
    for i, report in enumerate(result.reports):
        assert report['files_named_for_me'] == [
            f'default/array_metadatas/process_{i}',
            f'default/ocdbt.process_{i}',
        ]
    assert result.elapsed_s < 30
    _assert_cleaned_up(result)
    # JAX numbers the CPU devices of process 1 from 2048; describe() hides paths and timings.
    assert result.reports[1]['local_device_ids'] == [2048, 2049, 2050, 2051]
    assert result.text.splitlines()[0] == (
        'process 0: exit 0; called_save=true files_named_for_me='
        '["default/array_metadatas/process_0", "default/ocdbt.process_0"] global_device_count=8'
        ' local_device_ids=[0, 1, 2, 3] mode="every_process_saves" process_id=0 process_index=0'
        ' rows_held=[[0, 8], [8, 16], [16, 24], [24, 32]] saved=true stage="done" steps_seen=[0]'
    )

    # One committed step; each process wrote its own OCDBT sub-store.
    assert _names(directory) == {'0'}
    assert _names(directory / '0') == {'_CHECKPOINT_METADATA', 'commit_success.txt', 'default'}
    assert _names(directory / '0' / 'default') == {
        '_METADATA', '_sharding', 'array_metadatas', 'commit_success.txt', 'd',
        'manifest.ocdbt', 'ocdbt.process_0', 'ocdbt.process_1',
    }
    assert _names(directory / '0' / 'default' / 'array_metadatas') == {'process_0', 'process_1'}

    # This test process has its own (1) device: restore as numpy, no sharding needed.
    with ocp.CheckpointManager(str(directory)) as manager:
        restored = manager.restore(
            0,
            args=ocp.args.PyTreeRestore(
                restore_args={'w': ocp.RestoreArgs(restore_type=np.ndarray)}
            ),
        )
    assert type(restored['w']) is np.ndarray
    np.testing.assert_array_equal(restored['w'], global_values(64, 16))


def test_a_worker_that_raises_stops_the_run_quickly_and_leaves_no_process(tmp_path):
    directory = tmp_path / 'ckpts'
    with pytest.raises(ProcessRunError, match=r'^process 1 failed \(exit 1\)') as caught:
        save_global_array_from_processes(str(directory), mode='fail', timeout=30)

    result = caught.value.result
    assert 'RuntimeError: process 1 failed on purpose (mode=fail)' in str(caught.value)
    assert result.stderr_tails[1].endswith('RuntimeError: process 1 failed on purpose (mode=fail)')
    assert result.returncodes == (-9, 1)  # process 0 was stuck in save: killed
    assert (result.timed_out, result.failed_process) == (False, 1)
    assert result.reports[0]['stage'] == 'saving'
    assert result.elapsed_s < 20
    _assert_cleaned_up(result)
    assert _names(directory) == set()  # the manager made the dir; nothing saved


def test_only_process_0_saving_blocks_process_0_forever_and_writes_nothing(tmp_path):
    directory = tmp_path / 'ckpts'
    with pytest.raises(ProcessRunError, match=r'^timed out after 6 s') as caught:
        save_global_array_from_processes(
            str(directory), mode='only_process_0_saves', timeout=6
        )

    result = caught.value.result
    assert result.timed_out
    assert result.returncodes == (-9, -9)
    # Process 0 waits in save() for process 1, which skipped save, finished
    # its code and then waits at exit for process 0.
    assert result.reports[0]['stage'] == 'saving'
    assert (result.reports[1]['stage'], result.reports[1]['called_save']) == ('done', False)
    assert 6 <= result.elapsed_s < 12
    _assert_cleaned_up(result)
    assert _names(directory) == set()


def test_separate_directories_leave_two_unfinished_halves(tmp_path):
    directory = tmp_path / 'ckpts'
    with pytest.raises(ProcessRunError, match=r'^process [01] failed \(exit 1\)') as caught:
        save_global_array_from_processes(
            str(directory), mode='separate_directories', barrier_timeout=2, timeout=30
        )

    result = caught.value.result
    assert not result.timed_out
    assert any('TimeoutError' in tail for tail in result.stderr_tails)
    _assert_cleaned_up(result)
    assert _names(directory) == {'process_0', 'process_1'}
    for i in (0, 1):
        # Nothing committed: only Orbax's temporary step folder, one half each.
        assert _names(directory / f'process_{i}') == {'0.orbax-checkpoint-tmp'}
        item = directory / f'process_{i}' / '0.orbax-checkpoint-tmp' / 'default.orbax-checkpoint-tmp'
        assert f'ocdbt.process_{i}' in _names(item)
        assert f'ocdbt.process_{1 - i}' not in _names(item)
        assert 'commit_success.txt' not in _names(item)


def test_a_sleeping_worker_and_what_it_started_are_killed_at_the_timeout(tmp_path):
    pid_file = tmp_path / 'pids'
    script = tmp_path / 'sleep_forever.py'
    script.write_text(textwrap.dedent(f"""\
      import os, subprocess, sys, time
      child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])
      with open({str(pid_file)!r} + os.environ['CKPT_PROCESS_ID'], 'w') as f:
        f.write(str(child.pid))
      while True:
        time.sleep(600)
      """))

    with pytest.raises(ProcessRunError, match=r'^timed out after 2 s') as caught:
        run_processes(script, num_processes=2, timeout=2)

    result = caught.value.result
    assert result.returncodes == (-9, -9)
    assert result.reports == (None, None)
    assert 2 <= result.elapsed_s < 8
    _assert_cleaned_up(result)
    grandchildren = [int((tmp_path / f'pids{i}').read_text()) for i in (0, 1)]
    assert gone_within(grandchildren, 10)  # SIGKILLed with their group


def test_an_interrupt_while_waiting_kills_the_children(tmp_path, monkeypatch):
    script = tmp_path / 'sleep.py'
    script.write_text('import time\ntime.sleep(600)\n')
    started = []
    real_popen = child.subprocess.Popen

    def recording_popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    def interrupted_wait(procs, deadline):
        raise KeyboardInterrupt  # what Ctrl-C / "interrupt kernel" does

    monkeypatch.setattr(child.subprocess, 'Popen', recording_popen)
    monkeypatch.setattr(multiprocess, '_wait_for_all', interrupted_wait)
    with pytest.raises(KeyboardInterrupt):
        run_processes(script, num_processes=2, timeout=60)

    assert len(started) == 2
    assert [p.returncode for p in started] == [-9, -9]
    assert [p.pid for p in started if is_running(p.pid)] == []


@pytest.mark.parametrize(
    'kwargs, error, fragment',
    [
        (dict(directory='relative/ckpts'), ValueError, 'directory must be absolute'),
        (dict(mode='everyone_saves'), ValueError, "unknown mode 'everyone_saves'"),
        (dict(shape=(60, 16)), ValueError, 'shape[0]=60 must be divisible by the 8 devices'),
        (dict(num_processes=0), ValueError, 'need at least 1 process'),
        (dict(timeout=0), ValueError, 'timeout must be a positive number'),
    ],
)
def test_bad_arguments_fail_before_starting_anything(tmp_path, kwargs, error, fragment):
    kwargs.setdefault('directory', str(tmp_path / 'ckpts'))
    with pytest.raises(error) as caught:
        save_global_array_from_processes(**kwargs)
    assert fragment in str(caught.value)
    assert not (tmp_path / 'ckpts').exists()


def test_a_missing_worker_script_is_named_in_the_error(tmp_path):
    missing = tmp_path / 'nope.py'
    with pytest.raises(FileNotFoundError, match='worker script not found: .*nope.py'):
        run_processes(missing)


def test_the_worker_runs_as_a_module(monkeypatch, capsys):
    # What `python -m ckpt_widgets.lab.multiprocess_worker --help` does, without
    # paying a second interpreter start.
    import runpy

    monkeypatch.setattr(sys, 'argv', ['multiprocess_worker', '--help'])
    # As under `python -m`, the module must not be imported already.
    monkeypatch.delitem(sys.modules, 'ckpt_widgets.lab.multiprocess_worker', raising=False)
    with pytest.raises(SystemExit) as caught:
        runpy.run_module('ckpt_widgets.lab.multiprocess_worker', run_name='__main__')
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert '--mode {every_process_saves,only_process_0_saves,separate_directories,fail,hang}' in out


def test_child_environment_replaces_the_kernels_device_count_and_keeps_other_flags(monkeypatch):
    monkeypatch.setenv('XLA_FLAGS', '--xla_cpu_enable_fast_math=false --xla_force_host_platform_device_count=8')
    monkeypatch.setenv('JAX_NUM_CPU_DEVICES', '8')
    monkeypatch.setenv('PYTHONPATH', '/elsewhere')

    env = multiprocess._child_environment(port=40123, num_processes=2, process_id=1, devices=4)

    assert env['XLA_FLAGS'] == '--xla_cpu_enable_fast_math=false --xla_force_host_platform_device_count=4'
    assert env['JAX_NUM_CPU_DEVICES'] == '4'
    assert env['JAX_PLATFORMS'] == 'cpu'
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(ckpt_widgets.__file__)))
    assert env['PYTHONPATH'] == package_root + os.pathsep + '/elsewhere'
    assert (env['CKPT_COORDINATOR_ADDRESS'], env['CKPT_NUM_PROCESSES'], env['CKPT_PROCESS_ID']) == (
        '127.0.0.1:40123', '2', '1')


def test_stderr_tail_drops_cpp_info_and_warning_lines_but_keeps_errors(tmp_path):
    log = tmp_path / 'err'
    log.write_bytes(
        b'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n'
        b'W0000 00:00:1764446152.812380   12345 coordination_service.cc:123] heartbeat late\n'
        b'I1129 19:56:00.123456 12345 client.cc:88] connected\n'
        b'E1129 19:56:01.000001 12345 client.cc:99] peer 1 is gone\n'
        b'Traceback (most recent call last):\n'
        b'\n'
        b'RuntimeError: boom\n'
    )
    with open(log, 'rb') as stream:
        assert multiprocess._read_tail(stream, max_lines=2) == (
            'Traceback (most recent call last):\nRuntimeError: boom'
        )
        assert multiprocess._read_tail(stream, max_lines=10) == (
            'E1129 19:56:01.000001 12345 client.cc:99] peer 1 is gone\n'
            'Traceback (most recent call last):\nRuntimeError: boom'
        )

"""The lab's one child runner: own process group, output captured, the group killed on every way out."""

import sys
import textwrap

import pytest

from ckpt_widgets.lab.child import Child, absolute_dir, kill_all
from tests.helpers import gone_within, is_running


def _spawner(pid_file) -> list[str]:
    """A child that starts a grandchild in its (the child's) group and then sleeps."""
    code = textwrap.dedent(f"""\
        import subprocess, sys, time
        grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])
        open({str(pid_file)!r}, 'w').write(str(grandchild.pid))
        print('started', flush=True)
        time.sleep(600)
        """)
    return [sys.executable, '-c', code]


def test_output_lines_then_none_and_the_exit_code(tmp_path):
    out, err = [], []
    code = 'import sys; print("a"); print("b"); print("oops", file=sys.stderr); sys.exit(3)'
    with Child([sys.executable, '-c', code], on_stdout=out.append, on_stderr=err.append) as child:
        assert child.wait(timeout_s=60) == 3
    assert out == ['a\n', 'b\n', None]
    assert err == ['oops\n', None]
    assert child.returncode == 3


def test_an_interrupt_inside_the_block_kills_the_child_and_its_grandchild(tmp_path):
    pid_file = tmp_path / 'grandchild'
    lines = []
    with pytest.raises(KeyboardInterrupt):
        with Child(_spawner(pid_file), on_stdout=lines.append) as child:
            assert child.wait(timeout_s=0.5) is None
            while 'started\n' not in lines:
                assert child.wait(timeout_s=0.05) is None, 'the child died before starting'
            raise KeyboardInterrupt  # what Ctrl-C / "interrupt kernel" does
    assert child.returncode == -9
    grandchild = int(pid_file.read_text())
    assert not is_running(child.pid)
    assert gone_within([grandchild], 5)


def test_kill_all_signals_every_group_and_reaps_them(tmp_path):
    sleep = [sys.executable, '-c', 'import time; time.sleep(600)']
    children = [Child(sleep), Child(sleep)]
    kill_all(children)
    assert [c.returncode for c in children] == [-9, -9]
    kill_all(children)  # already gone: no error
    assert [c.returncode for c in children] == [-9, -9]


def test_the_folder_check(tmp_path):
    assert absolute_dir(tmp_path / 'missing') == tmp_path / 'missing'
    with pytest.raises(ValueError, match="directory must be absolute, got 'ckpt'"):
        absolute_dir('ckpt')
    (tmp_path / 'x').write_text('data')
    with pytest.raises(FileExistsError, match='directory is not empty'):
        absolute_dir(tmp_path)
    assert absolute_dir(tmp_path, empty=False) == tmp_path
    assert (tmp_path / 'x').read_text() == 'data'

"""A real room on 127.0.0.1: two learners driven over HTTP + websockets (make test-classroom).

Needs root (the room creates Unix accounts) and the classroom extra + npm proxy that
`make test-classroom` installs. Accounts are `cltest01..` and `cltestinst`, never the real
room's names; the state folder is fresh per run.
"""

import asyncio
import doctest
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # `classroom` is a folder of the repository, not installed

pytest.importorskip('jupyterhub', reason='make test-classroom installs the classroom extra')

from classroom import accounts, loadtest, start  # noqa: E402 -- needs the path above

N = 2
PREFIX, INSTRUCTOR = 'cltest', 'cltestinst'
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='the room creates Unix accounts')


def room_args(state, port, n=N):
    return start.parse_args(['--learners', str(n), '--port', str(port), '--prefix', PREFIX,
                             '--instructor', INSTRUCTOR, '--state', str(state)])


@pytest.fixture
def state():
    # Not pytest's tmp_path: learners must pass through this folder to reach progress/.
    path = Path(tempfile.mkdtemp(prefix='ckpt-classroom-'))
    os.chmod(path, 0o711)
    yield path
    # The test's accounts go with it, so every run also exercises creating them.
    for name in [INSTRUCTOR, *accounts.learner_names(N, PREFIX)]:
        accounts.remove_account(name)
    subprocess.run(['rm', '-rf', str(path)], check=False)


def run_cli(*args):
    return subprocess.run([sys.executable, '-m', 'classroom.start', *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize('args, says', [
    (['--learners', '0'], 'LEARNERS=0 is out of range'),
    (['--learners', 'ten'], "LEARNERS='ten' is not a number"),
    (['--learners', '2', '--port', 'http'], "PORT='http' is not a number"),
    ([], 'required: --learners'),
])
def test_bad_arguments_one_line_exit_2(args, says):
    r = run_cli(*args)
    assert r.returncode == 2, r
    assert r.stdout == '' and r.stderr.count('\n') == 1 and says in r.stderr, r.stderr


def test_port_in_use_one_line_exit_2(state):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_cli('--learners', '2', '--port', str(port), '--state', str(state))
    assert r.returncode == 2 and r.stderr.count('\n') == 1, r
    assert f'port {port} on 127.0.0.1 is in use' in r.stderr or 'must run as root' in r.stderr


def test_not_root_is_refused_before_anything_is_made(monkeypatch, state):
    monkeypatch.setattr(os, 'geteuid', lambda: 1000)
    with pytest.raises(start.Usage, match='must run as root'):
        start.check_can_start(room_args(state, 8000))
    assert not (state / 'passwords.json').exists()


def test_docstring_examples():
    for module in (accounts, start, loadtest):
        result = doctest.testmod(module)
        assert result.attempted and not result.failed, module.__name__


def test_solutions_fill_every_stub():
    nb = json.loads((ROOT / 'notebooks' / loadtest.EXERCISES).read_text())
    stubs = [loadtest.stub_name(c) for c in nb['cells'] if loadtest.stub_name(c)]
    assert len(stubs) == 5
    assert loadtest.solve(nb, loadtest.solutions()) == 5
    assert not any(loadtest.stub_name(c) for c in nb['cells'])


def free_port():
    return start.free_port()


def as_user(name, *cmd):
    """Run `cmd` as the Unix user `name` (a learner), never as root."""
    return subprocess.run(['runuser', '-u', name, '--', *cmd], capture_output=True, text=True,
                          check=False)


@needs_root
def test_a_room_of_two_learners_all_pass_isolated(state):
    args = room_args(state, free_port())
    with start.open_room(args) as room:
        report = asyncio.run(loadtest.measure(room, timeout=600))
        other_denied = asyncio.run(peek_at_other_learner(room))
        admin_sees = asyncio.run(instructor_lists_learners(room))
        hub_pid, proxy_pid = room.hub.pid, start.read_pid(state / 'proxy.pid')
    results = {r['name']: r for r in report['results']}

    # Every learner: five ✓, no kernel died, no error.
    for r in results.values():
        assert r['error'] == '' and not r['kernel_died'], r
        assert [v[0] for v in r['verdicts']] == ['✓'] * 5, r['verdicts']

    # Everything stopped by PID, the port free again.
    assert not start.pid_alive(hub_pid) and proxy_pid and not start.pid_alive(proxy_pid)
    assert start.port_is_free(args.port)

    one, two = room.learners
    # Over the hub: learner one's login does not open learner two's server; the instructor
    # is an admin who sees every learner.
    assert other_denied
    assert admin_sees == sorted(room.learners + [room.instructor])
    # On disk: each learner's work is in their own home, owned by them, and nowhere else.
    for name in room.learners:
        home = room.homes[name]
        uid = pwd.getpwnam(name).pw_uid
        saved = (home / 'notebooks' / loadtest.EXERCISES).read_text()
        assert loadtest.STUB not in saved  # the solved notebook was saved in their home
        written = list((home / 'ckpt-work').rglob('*'))
        assert written and all(p.lstat().st_uid == uid for p in written)
        for other in room.learners:
            if other != name:
                assert not [p for p in room.homes[other].rglob('*') if p.lstat().st_uid == uid]
    # As Unix users: neither can read nor write the other's files.
    assert as_user(one, 'cat', str(room.homes[two] / 'notebooks' / loadtest.EXERCISES)).returncode
    assert as_user(one, 'touch', str(room.homes[two] / 'ckpt-work' / 'intruder')).returncode
    assert as_user(one, 'ls', str(room.progress)).returncode  # the progress folder is not listable
    assert not (room.homes[two] / 'ckpt-work' / 'intruder').exists()
    # Progress folder as issue 14 wants it: setgid + sticky, write-only for learners.
    assert room.progress.stat().st_mode & 0o7777 == 0o3733
    progress_records(room)

    # A second start reuses the accounts and keeps every learner's saved notebook.
    before = {n: (room.homes[n] / 'notebooks' / loadtest.EXERCISES).read_text()
              for n in room.learners}
    start.prepare_accounts(args)
    for name in room.learners:
        assert (room.homes[name] / 'notebooks' / loadtest.EXERCISES).read_text() == before[name]
        assert pwd.getpwnam(name).pw_gecos.startswith(accounts.MARK)


def progress_records(room):
    """Each learner's progress file (ckpt_widgets.workshop.progress) holds only their own ✓s."""
    for name in room.learners:
        lines = (room.progress / f'{name}.jsonl').read_text().splitlines()
        records = [json.loads(line) for line in lines]
        assert {r['learner'] for r in records} == {name}
        assert len({r['exercise'] for r in records if r['status'] == 'passed'}) == 5
        # Written by the learner, readable by the instructor's group, nobody else.
        st = (room.progress / f'{name}.jsonl').stat()
        assert st.st_uid == pwd.getpwnam(name).pw_uid and st.st_mode & 0o777 == 0o640


async def login(room, name):
    b = loadtest.Browser(room.url)
    await b.fetch('/hub/login')
    await b.fetch('/hub/login?next=', 'POST', loadtest.urlencode(
        {'username': name, 'password': room.passwords[name], '_xsrf': b.xsrf('/hub/')}))
    return b


async def instructor_lists_learners(room):
    """The names the hub's admin API lists to the instructor (admin page's data)."""
    b = await login(room, room.instructor)
    try:
        r = await b.fetch('/hub/api/users')
        return sorted(u['name'] for u in json.loads(r.body)) if r.code == 200 else r.code
    finally:
        b.client.close()


async def peek_at_other_learner(room):
    """Log in as the first learner and ask for the second learner's notebook: refused?"""
    one, two = room.learners
    b = await login(room, one)
    try:
        r = await b.fetch(f'/user/{two}/api/contents/{loadtest.EXERCISES}')
        return r.code in (403, 404) or b'"cells"' not in r.body
    finally:
        b.client.close()


@needs_root
def test_ctrl_c_leaves_no_process_behind(state):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, '-m', 'classroom.start', '--learners', '1', '--port', str(port),
         '--prefix', PREFIX, '--instructor', INSTRUCTOR, '--state', str(state)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # blocks until the banner (or exit)
        assert line.startswith(f'Classroom running on http://127.0.0.1:{port}'), (
            line + proc.stderr.read())
        hub = start.read_pid(state / 'hub.pid')
        proxy = start.read_pid(state / 'proxy.pid')
        assert hub and proxy and start.pid_alive(hub) and start.pid_alive(proxy)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 10
    while (start.pid_alive(hub) or start.pid_alive(proxy)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not start.pid_alive(hub) and not start.pid_alive(proxy)
    assert start.port_is_free(port)
    assert not (state / 'start.pid').exists() and not (state / 'proxy.pid').exists()

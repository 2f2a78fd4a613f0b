"""`make classroom LEARNERS=N`: one JupyterHub on 127.0.0.1 for a room of N learners.

Run as root from the repository (the make target does):

    .venv/bin/python -m classroom.start --learners 20 --port 8000

Creates or reuses the Unix accounts (learner01.., instructor), each home with its own copy of
the notebooks and CKPT_LAB_WORKDIR, generates and prints the passwords, starts JupyterHub
(classroom/jupyterhub_config.py) behind the pinned configurable-http-proxy, and on Ctrl-C or
any failure stops every process it started, by PID. Bad input: one line, exit 2.

Importable for the load test and the benchmark:

>>> from classroom.start import parse_args
>>> parse_args(['--learners', '3', '--port', '8000']).learners
3
"""

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from classroom import accounts

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / 'classroom' / 'jupyterhub_config.py'
PROXY = REPO / 'classroom' / 'node_modules' / '.bin' / 'configurable-http-proxy'
VENV_BIN = Path(sys.executable).parent
MAX_LEARNERS = 200


class Usage(Exception):
    """Bad input: start.py prints it as one line and exits 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Usage(message)


def parse_args(argv):
    """Parse the command line; `Usage` (one line) on anything wrong."""
    p = _Parser(prog='make classroom', add_help=True)
    p.add_argument('--learners', required=True, help='how many learner accounts (1..200)')
    p.add_argument('--port', default='8000', help='the public port on 127.0.0.1')
    p.add_argument('--prefix', default='learner', help='learner account names: PREFIX01..')
    p.add_argument('--instructor', default='instructor', help="the hub admin's account")
    p.add_argument('--state', default=str(REPO / 'classroom' / '.state'),
                   help='where the hub keeps its database, PID files and passwords')
    p.add_argument('--cull-idle', default='3600', help='stop servers idle this many seconds')
    args = p.parse_args(argv)
    args.learners = _count(args.learners, 'LEARNERS', 1, MAX_LEARNERS)
    args.port = _count(args.port, 'PORT', 1, 65535)
    args.cull_idle = _count(args.cull_idle, 'CULL_IDLE', 60, 7 * 86400)
    return args


def _count(text, name, low, high):
    try:
        value = int(str(text).strip())
    except ValueError:
        raise Usage(f'{name}={text!r} is not a number: give a whole number from {low} to {high}') from None
    if not low <= value <= high:
        raise Usage(f'{name}={value} is out of range: give a whole number from {low} to {high}')
    return value


def check_can_start(args):
    """Everything that would fail later, checked before any account or process is made."""
    if os.geteuid() != 0:
        raise Usage('the classroom creates Unix accounts and must run as root: sudo make classroom')
    if not PROXY.exists():
        raise Usage(f'configurable-http-proxy missing at {PROXY}: run make classroom (npm ci)')
    if not port_is_free(args.port):
        raise Usage(f'port {args.port} on 127.0.0.1 is in use: pick another, e.g. '
                    f'make classroom PORT={args.port + 1}')
    pid = read_pid(Path(args.state) / 'start.pid')
    if pid and pid_alive(pid):
        raise Usage(f'a classroom is already running from {args.state} (PID {pid}): '
                    f'stop it first (kill {pid})')


def port_is_free(port):
    """True when nothing listens on 127.0.0.1:`port`."""
    with socket.socket() as s:
        # As the proxy will: a port whose old connections wait out TIME_WAIT is still free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            return False
    return True


def free_port():
    """A port on 127.0.0.1 that was free a moment ago (for the hub and the proxy's API)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def read_pid(path):
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Room:
    """A running room: where to go, who logs in with what."""
    url: str
    instructor: str
    passwords: dict  # {account: password}, the instructor's included
    learners: list
    state: Path
    progress: Path
    hub: subprocess.Popen
    homes: dict = field(default_factory=dict)  # {learner: home folder}


def prepare_accounts(args):
    """Accounts, homes, progress folder and passwords; returns (learners, passwords, homes)."""
    state = Path(args.state)
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o711)  # learners may pass through to progress/, never list it
    accounts.ensure_group(accounts.STAFF_GROUP)
    learners = accounts.learner_names(args.learners, args.prefix)
    homes = {}
    instructor = accounts.ensure_account(args.instructor, groups=[accounts.STAFF_GROUP])
    accounts.prepare_home(instructor, REPO / 'notebooks')
    for name in learners:
        homes[name] = Path(accounts.prepare_home(accounts.ensure_account(name),
                                                 REPO / 'notebooks')).parent
    accounts.prepare_progress_dir(state / 'progress', owner=args.instructor)
    # Passwords stay the same across restarts of one room (the slips handed out stay valid);
    # delete STATE/passwords.json for new ones.
    saved = state / 'passwords.json'
    passwords = json.loads(saved.read_text()) if saved.exists() else {}
    for name in [args.instructor] + learners:
        passwords.setdefault(name, accounts.new_password())
    passwords = {k: passwords[k] for k in [args.instructor] + learners}
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(passwords, f, indent=1)
    accounts.set_passwords(passwords)
    return learners, passwords, homes


def learner_python(state, account):
    """The Python every learner's server and kernel runs: the project's .venv, as `account` can.

    When the .venv's interpreter is out of the learners' reach (a pyenv Python under /root,
    as on this project's CI machines), a small venv of the system's Python of the same version
    is made in `state`, whose only content is a .pth pointing at the .venv's site-packages:
    still exactly the pinned stack, one copy of it.
    """
    own = VENV_BIN / 'python'
    if _runs(account, own):
        return own
    version = f'{sys.version_info.major}.{sys.version_info.minor}'
    base = Path(f'/usr/bin/python{version}')
    shim = Path(state) / 'learner-venv'
    if base.exists():
        if not (shim / 'bin' / 'python').exists():
            subprocess.run([str(base), '-m', 'venv', '--without-pip', str(shim)], check=True,
                           capture_output=True)
        site = next(VENV_BIN.parent.glob('lib/python*/site-packages'))
        (shim / 'lib' / f'python{version}' / 'site-packages' / 'ckpt-lab-venv.pth').write_text(
            f'import site; site.addsitedir({str(site)!r})\n')
        if _runs(account, shim / 'bin' / 'python'):
            return shim / 'bin' / 'python'
    raise Usage(f'learner {account} cannot run {own} nor /usr/bin/python{version} with the '
                f'pinned stack: make {VENV_BIN.parent} world-readable (chmod -R o+rX) '
                f'or install python{version} (apt-get install python3)')


def _runs(account, python):
    probe = subprocess.run(
        ['runuser', '-u', account, '--', str(python), '-c',
         'import ckpt_widgets, jupyterhub, ipykernel, jupyterlab'],
        capture_output=True, text=True, cwd='/', check=False)
    return probe.returncode == 0


@contextlib.contextmanager
def open_room(args):
    """Start a room for `args` (see parse_args) and stop everything by PID on leaving."""
    check_can_start(args)
    state = Path(args.state)
    learners, passwords, homes = prepare_accounts(args)
    python = learner_python(state, learners[0])
    (state / 'start.pid').write_text(f'{os.getpid()}\n')
    env = dict(os.environ,
               CLASSROOM_REPO=str(REPO), CLASSROOM_STATE=str(state),
               CLASSROOM_PORT=str(args.port), CLASSROOM_HUB_PORT=str(free_port()),
               CLASSROOM_PROXY_API_PORT=str(free_port()),
               CLASSROOM_LEARNERS=','.join(learners), CLASSROOM_INSTRUCTOR=args.instructor,
               CLASSROOM_PROGRESS=str(state / 'progress'),
               CLASSROOM_CULL_IDLE=str(args.cull_idle), CLASSROOM_PYTHON=str(python))
    with open(state / 'hub.log', 'ab') as hub_log:
        hub = subprocess.Popen([str(VENV_BIN / 'jupyterhub'), '-f', str(CONFIG)], env=env,
                               cwd=state, stdout=hub_log, stderr=subprocess.STDOUT,
                               start_new_session=True)  # Ctrl-C reaches us; we stop the hub
    try:
        url = f'http://127.0.0.1:{args.port}'
        wait_until_up(url, hub, state / 'hub.log')
        yield Room(url=url, instructor=args.instructor, passwords=passwords,
                   learners=learners, state=state, progress=state / 'progress',
                   hub=hub, homes=homes)
    finally:
        stop(hub, descendants(hub.pid), state)
        (state / 'start.pid').unlink(missing_ok=True)


def wait_until_up(url, hub, log_path, timeout=120):
    """Until the hub answers through the proxy; `RuntimeError` with the log's tail if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            tail = log_path.read_text(errors='replace').splitlines()[-5:]
            raise RuntimeError('JupyterHub exited while starting: ' + ' | '.join(tail))
        try:
            with urllib.request.urlopen(f'{url}/hub/api/', timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f'JupyterHub did not answer on {url} within {timeout} s (see {log_path})')


def descendants(pid):
    """PIDs of every process under `pid` now (servers, kernels, the proxy, the culler)."""
    import psutil

    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def stop(hub, pids, state, grace=30):
    """Stop the hub (it stops the servers and the proxy), then kill by PID whatever is left."""
    if hub.poll() is None:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(grace)
        except subprocess.TimeoutExpired:
            hub.kill()
            hub.wait()
    proxy = read_pid(state / 'proxy.pid')
    for pid in sorted(pids | ({proxy} if proxy else set())):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for name in ('proxy.pid', 'hub.pid'):
        (state / name).unlink(missing_ok=True)


def banner(room):
    """What `make classroom` prints: the URL, and who logs in with what."""
    lines = [f'Classroom running on {room.url}  (Ctrl-C stops it and every server in it)',
             (f'Instructor (hub admin): log in at {room.url}/hub/login as {room.instructor} '
              f'with password {room.passwords[room.instructor]}; '
              f'admin page {room.url}/hub/admin'),
             f'Learners: open {room.url}, log in with the account and password on your slip:']
    lines += [f'  {name}  {room.passwords[name]}' for name in room.learners]
    lines.append(f'(passwords also in {room.state}/passwords.json, readable by root only)')
    return '\n'.join(lines)


def main(argv=None):
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        check_can_start(args)
    except Usage as e:
        print(f'make classroom: {e}', file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run open_room's cleanup
    # Ctrl-C stops the room even when started from a shell that ignores SIGINT in the background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with open_room(args) as room:
            print(banner(room), flush=True)
            while True:
                time.sleep(1)
                if room.hub.poll() is not None:
                    print('make classroom: JupyterHub stopped; see '
                          f'{room.state}/hub.log', file=sys.stderr)
                    return 1
    except KeyboardInterrupt:
        print('\nStopping the classroom ... stopped.')
        return 0
    except Usage as e:
        print(f'make classroom: {e}', file=sys.stderr)
        return 2
    except (RuntimeError, accounts.AccountError) as e:
        print(f'make classroom: {e}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())

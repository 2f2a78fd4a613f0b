"""Learners as a browser drives the hub: HTTP and websockets to 127.0.0.1 only.

Each simulated learner logs in (the hub's login form), starts their server (hub REST API),
opens 11_workshop_exercises (contents API), puts notebook 12's solution of each exercise in
place of the stub and saves the notebook, starts a kernel, runs every code cell over the
kernel websocket, and reads back the verdict of each check cell.

    from classroom.loadtest import run_learners
    results = asyncio.run(run_learners(room, timeout=600))

>>> stub_name({'cell_type': 'code', 'source': 'def f(x):\\n    ...  # your code here'})
'f'
"""

import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlparse

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

EXERCISES = '11_workshop_exercises.ipynb'
SOLUTIONS = Path(__file__).resolve().parent.parent / 'notebooks' / '12_workshop_solutions.ipynb'
STUB = '...  # your code here'
DEF = re.compile(r'^def (\w+)\(', re.MULTILINE)
CHECK = re.compile(r'\.check_\w+\(')


def _source(cell):
    src = cell['source']
    return src if isinstance(src, str) else ''.join(src)


def stub_name(cell):
    """The function a stub cell asks for, or None when the cell is no stub."""
    src = _source(cell)
    if cell['cell_type'] != 'code' or STUB not in src:
        return None
    m = DEF.search(src)
    return m.group(1) if m else None


def solutions(path=SOLUTIONS):
    """{function name: the cell of notebook 12 that defines it}."""
    cells = json.loads(Path(path).read_text())['cells']
    found = {}
    for cell in cells:
        if cell['cell_type'] == 'code':
            m = DEF.search(_source(cell))
            if m and m.group(1) not in found:
                found[m.group(1)] = _source(cell)
    return found


def solve(notebook, answers):
    """Put `answers` in place of every stub of `notebook` (in place); return how many."""
    done = 0
    for cell in notebook['cells']:
        name = stub_name(cell)
        if name:
            cell['source'] = answers[name]  # KeyError: notebook 12 lacks a solution
            done += 1
    return done


class Browser:
    """One learner's cookies over tornado's HTTP client, following redirects itself
    (tornado's own redirects would drop the cookies the OAuth steps set)."""

    def __init__(self, base):
        self.base = base
        self.client = AsyncHTTPClient(force_instance=True, max_clients=4)
        self.cookies = {}  # (name, path) -> value

    def cookie_header(self, path):
        pairs = {n: v for (n, p), v in sorted(self.cookies.items(), key=lambda kv: len(kv[0][1]))
                 if path.startswith(p)}
        return '; '.join(f'{n}={v}' for n, v in pairs.items())

    def xsrf(self, path):
        best = [(p, v) for (n, p), v in self.cookies.items() if n == '_xsrf' and path.startswith(p)]
        return max(best, key=lambda pv: len(pv[0]))[1] if best else ''

    async def fetch(self, path, method='GET', body=None, headers=None, redirects=10):
        url = urljoin(self.base, path)
        for _ in range(redirects + 1):
            upath = urlparse(url).path
            h = {'Cookie': self.cookie_header(upath), 'X-XSRFToken': self.xsrf(upath),
                 'Referer': url, **(headers or {})}
            req = HTTPRequest(url, method=method, body=body, headers=h, follow_redirects=False,
                              connect_timeout=300, request_timeout=300,
                              allow_nonstandard_methods=True)
            try:
                resp = await self.client.fetch(req, raise_error=False)
            except HTTPClientError as e:  # pragma: no cover - raise_error=False returns these
                resp = e.response
            for header in resp.headers.get_list('Set-Cookie'):
                jar = SimpleCookie()
                jar.load(header)
                for morsel in jar.values():
                    self.cookies[(morsel.key, morsel['path'] or '/')] = morsel.value
            if resp.code in (301, 302, 303, 307) and 'Location' in resp.headers:
                url = urljoin(url, resp.headers['Location'])
                if resp.code != 307:
                    method, body = 'GET', None
                continue
            return resp
        raise RuntimeError(f'too many redirects from {path}')


@dataclass
class Learner:
    """What one learner saw."""
    name: str
    login_to_running: float = 0.0  # s from posting the login form to a running server
    cell_times: list = field(default_factory=list)  # s per check cell
    verdicts: list = field(default_factory=list)  # first line of each check cell's verdict
    kernel_died: bool = False
    error: str = ''

    @property
    def all_passed(self):
        return len(self.verdicts) == 5 and all(v.startswith('✓') for v in self.verdicts)


async def learn(base, name, password, deadline):
    """Drive one learner end to end; errors are recorded, never raised."""
    me = Learner(name)
    b = Browser(base)
    step = 'login'
    try:
        await b.fetch('/hub/login')  # the form's _xsrf cookie
        t0 = time.monotonic()
        r = await b.fetch('/hub/login?next=', 'POST', urlencode(
            {'username': name, 'password': password, '_xsrf': b.xsrf('/hub/')}))
        if not any(n == 'jupyterhub-session-id' or n.startswith('jupyterhub-hub-login')
                   for n, _ in b.cookies):
            raise RuntimeError(f'login failed ({r.code})')
        # As a browser: the login lands on /hub/spawn, which starts the server (no options
        # form); asking again is harmless. (The REST API's POST would need an API token.)
        step = 'spawn'
        r = await b.fetch(f'/hub/spawn/{name}')
        if r.code >= 400:
            raise RuntimeError(f'spawn: {r.code}')
        while True:
            user = json.loads((await b.fetch(f'/hub/api/users/{name}')).body)
            server = user.get('servers', {}).get('')
            if server and server.get('ready'):
                break
            if time.monotonic() > deadline:
                raise TimeoutError('server did not start in time')
            await asyncio.sleep(0.5)
        r = await b.fetch(f'/user/{name}/lab')  # the OAuth dance a browser does
        if r.code != 200:
            raise RuntimeError(f'/user/{name}/lab: {r.code}')
        me.login_to_running = time.monotonic() - t0
        step = 'notebook'
        api = f'/user/{name}/api'
        nb = json.loads((await b.fetch(f'{api}/contents/{EXERCISES}')).body)['content']
        solve(nb, solutions())
        r = await b.fetch(f'{api}/contents/{EXERCISES}', 'PUT',
                          json.dumps({'type': 'notebook', 'format': 'json', 'content': nb}))
        if r.code != 200:
            raise RuntimeError(f'save: {r.code}')
        r = await b.fetch(f'{api}/sessions', 'POST', json.dumps(
            {'path': EXERCISES, 'type': 'notebook', 'name': EXERCISES,
             'kernel': {'name': 'python3'}}))
        kernel = json.loads(r.body)['kernel']['id']
        await run_notebook(b, name, kernel, nb, me, deadline)
        state = json.loads((await b.fetch(f'{api}/kernels/{kernel}')).body)
        me.kernel_died = me.kernel_died or state.get('execution_state') == 'dead'
        await b.fetch(f'{api}/sessions/{json.loads(r.body)["id"]}', 'DELETE')
    except Exception as e:  # noqa: BLE001 -- one learner's failure must not hide the others'
        me.error = f'{step}: {type(e).__name__}: {e}'
    finally:
        b.client.close()
    return me


async def run_notebook(b, name, kernel, nb, me, deadline):
    """Execute every code cell in order over the kernel websocket; record check cells."""
    url = f"ws://{urlparse(b.base).netloc}/user/{name}/api/kernels/{kernel}/channels"
    path = urlparse(url).path
    # Tornado's default 20 s would cut a kernel still starting on a busy machine.
    ws = await websocket_connect(HTTPRequest(url, headers={'Cookie': b.cookie_header(path)},
                                             connect_timeout=300, request_timeout=300))
    session = uuid.uuid4().hex
    try:
        for cell in nb['cells']:
            if cell['cell_type'] != 'code':
                continue
            src = _source(cell)
            msg_id = uuid.uuid4().hex
            ws.write_message(json.dumps({
                'channel': 'shell', 'header': {
                    'msg_id': msg_id, 'username': name, 'session': session,
                    'msg_type': 'execute_request', 'version': '5.3'},
                'parent_header': {}, 'metadata': {},
                'content': {'code': src, 'silent': False, 'store_history': True,
                            'user_expressions': {}, 'allow_stdin': False,
                            'stop_on_error': True}}))
            t0 = time.monotonic()
            text, status, idle = [], None, False
            while status is None or not idle:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f'cell did not finish: {src[:40]!r}')
                raw = await asyncio.wait_for(ws.read_message(), left)
                if raw is None:
                    me.kernel_died = True
                    raise RuntimeError('kernel websocket closed')
                msg = json.loads(raw)
                kind = msg['header']['msg_type']
                if kind == 'status' and msg['content']['execution_state'] in ('restarting',
                                                                             'dead'):
                    me.kernel_died = True
                    raise RuntimeError('kernel died')
                if msg.get('parent_header', {}).get('msg_id') != msg_id:
                    continue
                if kind in ('execute_result', 'display_data'):
                    text.append(msg['content']['data'].get('text/plain', ''))
                elif kind == 'execute_reply':
                    status = msg['content']['status']
                elif kind == 'status' and msg['content']['execution_state'] == 'idle':
                    idle = True
            if status != 'ok':
                raise RuntimeError(f'cell failed ({status}): {src[:60]!r}')
            if CHECK.search(src):
                me.cell_times.append(time.monotonic() - t0)
                me.verdicts.append(''.join(text).strip().splitlines()[0] if text else '')
    finally:
        ws.close()


async def run_learners(url, passwords, learners, timeout=900):
    """All `learners` at once against the hub at `url`; a list of `Learner`, in order."""
    deadline = time.monotonic() + timeout
    return await asyncio.gather(*(learn(url, n, passwords[n], deadline) for n in learners))


class MemorySampler:
    """Peak resident memory, sampled every `every` s from /proc (psutil; no traffic): per
    learner the largest kernel and all their processes together (server + kernels), the hub's
    own processes (hub, proxy, culler), and everything at once."""

    def __init__(self, hub_pid, learners, every=0.5):
        self.hub_pid, self.learners, self.every = hub_pid, set(learners), every
        self.peak_kernel = {}  # learner -> bytes (largest single kernel)
        self.peak_learner = {}  # learner -> bytes (server + kernels)
        self.peak_hub = 0
        self.peak_total = 0

    async def run(self):
        import psutil

        while True:
            try:
                procs = [psutil.Process(self.hub_pid)]
                procs += procs[0].children(recursive=True)
            except psutil.NoSuchProcess:
                return
            total, hub, per = 0, 0, {}
            for p in procs:
                try:
                    rss = p.memory_info().rss
                    user = p.username()
                    cmd = ' '.join(p.cmdline())
                except psutil.Error:
                    continue
                total += rss
                if user in self.learners:
                    per[user] = per.get(user, 0) + rss
                    if 'ipykernel' in cmd:
                        self.peak_kernel[user] = max(self.peak_kernel.get(user, 0), rss)
                else:
                    hub += rss
            for user, rss in per.items():
                self.peak_learner[user] = max(self.peak_learner.get(user, 0), rss)
            self.peak_hub = max(self.peak_hub, hub)
            self.peak_total = max(self.peak_total, total)
            await asyncio.sleep(self.every)


async def measure(room, timeout=900):
    """Run every learner of `room` at once while sampling memory; a JSON-able report."""
    sampler = MemorySampler(room.hub.pid, room.learners)
    task = asyncio.ensure_future(sampler.run())
    t0 = time.monotonic()
    try:
        results = await run_learners(room.url, room.passwords, room.learners, timeout)
    finally:
        task.cancel()
    return {
        'learners': len(room.learners),
        'wall_s': time.monotonic() - t0,
        'peak_kernel_bytes': sampler.peak_kernel,
        'peak_learner_bytes': sampler.peak_learner,
        'peak_hub_bytes': sampler.peak_hub,
        'peak_total_bytes': sampler.peak_total,
        'results': [vars(r) | {'all_passed': r.all_passed} for r in results],
    }


def main(argv=None):
    """`python -m classroom.loadtest --learners N --port P --json out.json [start.py options]`:
    start a room, run every learner at once, stop the room, write the report."""
    import argparse
    import sys

    from classroom import start

    p = argparse.ArgumentParser(prog='classroom.loadtest')
    p.add_argument('--json', required=True)
    p.add_argument('--timeout', type=int, default=900)
    own, rest = p.parse_known_args(argv)
    try:
        args = start.parse_args(rest)
        start.check_can_start(args)
    except start.Usage as e:
        print(f'classroom.loadtest: {e}', file=sys.stderr)
        return 2
    with start.open_room(args) as room:
        report = asyncio.run(measure(room, own.timeout))
    Path(own.json).write_text(json.dumps(report, indent=1, ensure_ascii=False) + '\n')
    bad = [r['name'] for r in report['results'] if not r['all_passed'] or r['kernel_died']]
    print(f"{report['learners']} learners, {len(bad)} not all ✓: {bad}")
    return 1 if bad else 0


if __name__ == '__main__':
    raise SystemExit(main())

"""Headless Debian Chromium driven by Playwright, with every request off 127.0.0.1 blocked.

`make test-browser` installs Debian's chromium first when it is missing; these tests fail
(never skip) when it is not there, so CI cannot pass without looking at a real page.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.browser.lab_support import ROOT, free_port

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
# Flags that keep Chromium off the network it cannot reach here (see README, browser tests).
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']


@pytest.fixture(scope='session')
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f'{CHROMIUM} not found: run `make test-browser` (installs Debian chromium) '
                    'or set CHROMIUM=/path/to/chromium')
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={'width': 1400, 'height': 1000})
    blocked: list[str] = []

    def only_loopback(route):
        host = urlparse(route.request.url).hostname
        if host in ('127.0.0.1', 'localhost') or route.request.url.startswith(('file:', 'data:')):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route('**/*', only_loopback)
    pg = context.new_page()
    pg.blocked_requests = blocked
    yield pg
    context.close()


@pytest.fixture(scope='session')
def lab(tmp_path_factory):
    """JupyterLab from the pinned venv on 127.0.0.1, serving a scratch copy of notebooks/.

    A copy, because running cells in the browser (and Lab's autosave) would otherwise
    rewrite the stored outputs. Stopped by its PID (process group) at the end.
    """
    root = tmp_path_factory.mktemp('lab')
    shutil.copytree(ROOT / 'notebooks', root / 'notebooks')
    port, token = free_port(), 'browser-test-token'
    # Render every cell (Lab 4 otherwise renders only the cells in view), so that the test
    # can read every output; kept in this server's own settings folder.
    settings = root / 'settings' / '@jupyterlab' / 'notebook-extension'
    settings.mkdir(parents=True)
    (settings / 'tracker.jupyterlab-settings').write_text('{"windowingMode": "none"}')
    news = root / 'settings' / '@jupyterlab' / 'apputils-extension'
    news.mkdir(parents=True)
    (news / 'notification.jupyterlab-settings').write_text('{"fetchNews": "false"}')
    log = open(root / 'lab.log', 'w')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
         f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root / "notebooks"}',
         '--ServerApp.open_browser=False', *(['--allow-root'] if os.geteuid() == 0 else []), '--LabApp.news_url=',
         '--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate'],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, 'JUPYTER_CONFIG_DIR': str(root / 'config'),
             'JUPYTER_RUNTIME_DIR': str(root / 'runtime'),
             'JUPYTERLAB_SETTINGS_DIR': str(root / 'settings'),
             'JUPYTERLAB_WORKSPACES_DIR': str(root / 'workspaces')})
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError('JupyterLab did not start:\n' + (root / 'lab.log').read_text()[-3000:]) from None
                time.sleep(0.3)
        yield {'base': base, 'token': token, 'root': root / 'notebooks', 'pid': proc.pid}
    finally:
        stop_group(proc)
        log.close()


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (kernels included), SIGKILL it after 15 s."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue

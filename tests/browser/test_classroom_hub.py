"""The classroom's hub in Chromium: a learner logs in and lands in their own JupyterLab.

Starts a one-learner room (classroom.start.open_room, accounts `clbrowse01` / `clbrowseinst`),
logs in through the hub's login page as a learner would, and keeps the learner's view as
artifacts/classroom-learner.png (copied to docs/ for the instructor guide). Needs root, like
`make classroom`; `make test-browser` installs the classroom's pins and proxy first.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.browser.lab_support import ROOT, free_port, screenshot

sys.path.insert(0, str(ROOT))

from classroom import accounts, start

COLAB_BADGE = 'https://colab.research.google.com/assets/colab-badge.svg'


@pytest.fixture
def room():
    if os.geteuid() != 0:
        pytest.fail('the classroom creates Unix accounts: run the browser tests as root')
    state = Path(tempfile.mkdtemp(prefix='ckpt-classroom-browser-'))
    os.chmod(state, 0o711)
    args = start.parse_args(['--learners', '1', '--port', str(free_port()), '--prefix',
                             'clbrowse', '--instructor', 'clbrowseinst', '--state', str(state)])
    try:
        with start.open_room(args) as r:
            yield r
    finally:
        for name in [args.instructor, *accounts.learner_names(1, args.prefix)]:
            accounts.remove_account(name)
        subprocess.run(['rm', '-rf', str(state)], check=False)


def test_learner_logs_in_and_lands_in_the_workshop(page, room):
    name = room.learners[0]
    page.goto(f'{room.url}/hub/login')
    page.fill('#username_input', name)
    page.fill('#password_input', room.passwords[name])
    page.click('#login_submit')
    # The hub starts the learner's server and sends the browser to notebook 11 in JupyterLab.
    page.wait_for_url(f'**/user/{name}/lab/tree/11_workshop_exercises.ipynb', timeout=180_000)
    heading = page.locator('.jp-Notebook h1').first
    heading.wait_for(timeout=120_000)
    assert heading.inner_text().startswith('11 · Workshop')
    # Their own copy: the file browser lists the notebooks of their home, 11 among them.
    page.locator('.jp-DirListing-item[title*="11_workshop_exercises.ipynb"]').first.wait_for(
        timeout=60_000)
    page.wait_for_timeout(1500)  # let the page settle for the picture
    news = page.get_by_role('button', name='No')  # JupyterLab's "notify about news?" toast
    if news.count():
        news.first.click()
        page.locator('.Toastify__toast').first.wait_for(state='hidden', timeout=10_000)
    screenshot(page, 'classroom-learner')
    # Nothing left 127.0.0.1 but the notebook's own Open-in-Colab badge image (blocked).
    assert set(page.blocked_requests) <= {COLAB_BADGE}, page.blocked_requests

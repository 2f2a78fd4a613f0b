"""`make html`: the exported site shows the views' snapshots with the network blocked."""

import subprocess
import sys

import pytest

from tests.browser.lab_support import ROOT, screenshot


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp('site')
    subprocess.run([sys.executable, str(ROOT / 'tools' / 'build_site.py'), str(out)], check=True,
                   capture_output=True, timeout=300)
    return out


def test_index_lists_every_notebook(site, page):
    page.goto((site / 'index.html').as_uri())
    links = page.locator('a').all_inner_texts()
    assert links == sorted(p.stem for p in (ROOT / 'notebooks').glob('*.ipynb'))
    assert page.blocked_requests == []


def test_setup_page_shows_the_directory_tree_offline(site, page):
    page.goto((site / '00_setup.html').as_uri())
    trees = page.locator('.ckpt-widgets.directory-tree')
    assert trees.count() >= 2
    text = trees.last.inner_text()
    assert '00_first_checkpoint/' in text and '[step]' in text and 'default/' in text
    assert trees.first.is_visible()
    assert 'EQUAL' in page.locator('.ckpt-widgets.comparison').first.inner_text()
    screenshot(page, 'static-site-00_setup')
    assert page.blocked_requests == [], 'the static site asked the network for something'

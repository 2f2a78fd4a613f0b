"""`make docs`: the Sphinx + myst-nb site shows the views' snapshots, links the notebooks to each
other, searches, and shows each page's Colab badge, all with the network blocked."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.lab_support import ROOT, screenshot

NOTEBOOKS = sorted(p.stem for p in (ROOT / 'notebooks').glob('*.ipynb'))


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp('site') / 'html'  # myst-nb writes next to it, not in the repo
    sphinx = Path(sys.executable).parent / 'sphinx-build'
    done = subprocess.run([str(sphinx), '-q', '-W', '--keep-going', '-c', 'docs', '.', str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f'sphinx-build failed:\n{done.stderr[-3000:]}'
    return out


def test_index_shows_readme_and_every_notebook_in_the_sidebar(site, page):
    page.goto((site / 'index.html').as_uri())  # forwards to docs/index.html
    page.wait_for_url('**/docs/index.html')
    assert 'Who it is for' in page.locator('main').inner_text()  # README's content
    sidebar = page.locator('nav.bd-links a')
    hrefs = [h.split('/')[-1] for h in sidebar.evaluate_all('els => els.map(e => e.href)')]
    assert [h.removesuffix('.html') for h in hrefs if h.removesuffix('.html') in NOTEBOOKS] == NOTEBOOKS
    assert page.blocked_requests == []


def test_setup_page_shows_the_directory_tree_offline(site, page):
    page.goto((site / 'notebooks' / '00_setup.html').as_uri())
    trees = page.locator('.ckpt-widgets.directory-tree')
    assert trees.count() >= 2
    text = trees.last.inner_text()
    assert '00_first_checkpoint/' in text and '[step]' in text and 'default/' in text
    assert trees.first.is_visible()
    assert 'EQUAL' in page.locator('.ckpt-widgets.comparison').first.inner_text()
    badge = page.locator('a[href^="https://colab.research.google.com/github/"] img[alt="Open in Colab"]')
    assert badge.count() == 1 and badge.evaluate('img => img.naturalWidth') > 0  # the local copy
    assert badge.locator('xpath=..').get_attribute('href').endswith('/notebooks/00_setup.ipynb')
    screenshot(page, 'static-site-00_setup')
    assert page.blocked_requests == [], 'the docs site asked the network for something'


def test_every_page_has_its_colab_badge(site):
    for name in NOTEBOOKS:
        html = (site / 'notebooks' / f'{name}.html').read_text()
        assert f'/notebooks/{name}.ipynb"><img alt="Open in Colab"' in html, name


def test_cross_links_between_notebooks_lead_to_the_page(site, page):
    page.goto((site / 'notebooks' / '00_setup.html').as_uri())
    page.locator('main a', has_text='01 · Managing checkpoints in a training loop').first.click()
    page.wait_for_url('**/notebooks/01_training_loop.html')
    assert page.locator('h1').first.inner_text().startswith('01 · ')
    assert page.blocked_requests == []


def test_search_finds_a_notebook(site, page):
    page.goto((site / 'search.html').as_uri() + '?q=preservation_policy')
    results = page.locator('#search-results a')
    results.first.wait_for(timeout=15000)
    assert any('01_training_loop.html' in h
               for h in results.evaluate_all('els => els.map(e => e.href)'))
    assert page.blocked_requests == []

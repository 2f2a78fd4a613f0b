"""Sphinx + myst-nb configuration of the docs site (`make docs`), the way the JAX and Flax docs work.

    sphinx-build -W -c docs . site/html      # what `make docs` runs: warnings are errors

The source folder is the repository itself, so the notebooks stay where jupytext pairs them;
only docs/index.md (README's content) and notebooks/*.ipynb are read. Nothing is executed:
the pages show the outputs stored in the notebooks (the ones strict nbval checks), so the
views' HTML snapshots appear with no kernel. Nothing is loaded from the network either: the
"Open in Colab" badge image is a local copy; its link still opens Colab.
"""

from __future__ import annotations

import posixpath
import re
import tomllib
from pathlib import Path

from docutils import nodes

ROOT = Path(__file__).resolve().parent.parent
_PROJECT = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']

project = 'orbax-migration-lab'
release = version = _PROJECT['version']
author = 'orbax-migration-lab contributors'
copyright = 'orbax-migration-lab contributors'

extensions = ['myst_nb']
root_doc = 'docs/index'
include_patterns = ['docs/index.md', 'notebooks/*.ipynb', 'benchmarks/results/*.md']
exclude_patterns = ['.venv', '.git', 'site', 'build', 'artifacts', '**/.ipynb_checkpoints']
source_suffix = {'.md': 'myst-nb', '.ipynb': 'myst-nb'}

# myst-nb: show what the notebooks store, never execute (strict nbval already did, in CI).
nb_execution_mode = 'off'
nb_merge_streams = True
myst_enable_extensions = ['colon_fence']
myst_heading_anchors = 3

html_theme = 'sphinx_book_theme'
html_title = 'orbax-migration-lab'
html_static_path = ['_static']
html_extra_path = ['_root']  # site/html/index.html forwards to docs/index.html
html_theme_options = {
    'show_toc_level': 2,
    'navigation_with_keys': False,
}
html_last_updated_fmt = None
html_copy_source = False

BADGE_IMAGE = 'https://colab.research.google.com/assets/colab-badge.svg'
LOCAL_BADGE = '_static/colab-badge.svg'


def _local_badge(app, doctree, docname):
    """The Colab badge image from the site itself: no page asks the network for anything."""
    for image in doctree.findall(nodes.image):
        if image.get('uri') == BADGE_IMAGE:
            image['uri'] = posixpath.relpath(LOCAL_BADGE, posixpath.dirname(docname) or '.')


README_MARK = '<!-- README.md -->'


def readme_body() -> str:
    """README.md without its title, its links made relative to docs/ (README's are to the root).

    >>> '](../notebooks/00_setup.ipynb)' in readme_body()
    True
    """
    text = (ROOT / 'README.md').read_text().split('\n', 1)[1]
    return re.sub(r'\]\((?!https?:|#|mailto:)', '](../', text)


def _index_from_readme(app, docname, source):
    """docs/index.md shows README's content: one text for GitHub and for the site."""
    if docname == root_doc:
        source[0] = source[0].replace(README_MARK, readme_body())
        app.env.note_dependency(str(ROOT / 'README.md'))


def setup(app):
    app.connect('source-read', _index_from_readme)
    app.connect('doctree-resolved', _local_badge)

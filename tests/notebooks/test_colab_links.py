"""Every notebook opens in Colab from the one configured repository, and installs from it."""

import re
import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'tools'))
import colab_links  # noqa: E402


def test_links_and_install_cells_match_pyproject():
    stale = [str(p.relative_to(ROOT)) for p in colab_links.plan()]
    assert not stale, f'{stale}: run `make colab-links`'


def test_every_notebook_has_its_own_badge_and_a_guarded_install_cell():
    repository, branch = colab_links.settings()
    for md in sorted((ROOT / 'md_sources').glob('*.md')):
        nb = jupytext.read(ROOT / 'notebooks' / f'{md.stem}.ipynb')
        text = '\n'.join(c.source for c in nb.cells)
        assert colab_links.colab_url(repository, branch, md.stem) in text, md.name
        code = [c.source for c in nb.cells if c.cell_type == 'code']
        if code:  # a notebook with code installs the stack in Colab, and only there
            assert code[0].startswith('import sys\nif "google.colab" in sys.modules:'), md.name
            assert f'git+{repository}@{branch}' in code[0], md.name


def test_a_fork_rewrites_every_link():
    text = ('# T\n\nbody\n```{code-cell} ipython3\nimport sys\nif "google.colab" in sys.modules:\n'
            '    %pip install -q "orbax-migration-lab @ git+https://x/y@main"\n```\n')
    new = colab_links.updated_source(text, '05_a', 'https://github.com/me/fork', 'dev')
    assert '(https://colab.research.google.com/github/me/fork/blob/dev/notebooks/05_a.ipynb)' in new
    assert '"orbax-migration-lab @ git+https://github.com/me/fork@dev"' in new
    assert 'Restart the runtime' in new  # the whole install cell comes from colab_links
    assert colab_links.updated_source(new, '05_a', 'https://github.com/me/fork', 'dev') == new


def test_no_cell_relies_on_the_install_cell():
    # After Colab's restart the install cell is skipped (tests/colab): later cells import what they use.
    for md in sorted((ROOT / 'md_sources').glob('*.md')):
        code = [c.source for c in jupytext.read(md).cells if c.cell_type == 'code'][1:]
        for source in code:
            if re.search(r'^\s*import sys\b', source, re.MULTILINE):
                break
            assert not re.search(r'\bsys\.', source), f'{md.name}: uses sys before importing it'

"""Keep every "Open in Colab" link and Colab install cell pointing at one repository.

    python tools/colab_links.py          # rewrite md_sources/*.md and README.md (then: make sync)
    python tools/colab_links.py --check  # exit 1, naming the files, when anything is out of date

The repository URL and branch live in pyproject.toml, [tool.orbax-migration-lab]; change them
there (a fork, a move) and run `make colab-links`. tests/notebooks/test_colab_links.py runs --check.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BADGE_IMAGE = 'https://colab.research.google.com/assets/colab-badge.svg'
_BADGE = re.compile(r'\[!\[Open in Colab\]\([^)]*\)\]\([^)]*\)')
_INSTALL = re.compile(r'^import sys\nif "google\.colab" in sys\.modules:.*?(?=^```)', re.S | re.M)
# The first code cell of every notebook. In Colab it installs the pinned stack from the
# repository; a module Colab had loaded before (an older numpy, say) keeps its old version in
# memory, so the cell then asks for a restart; after it the install is a no-op and says nothing.
INSTALL_CELL = """import sys
if "google.colab" in sys.modules:  # Colab only: the pinned stack + ckpt_widgets
    %pip install -q "orbax-migration-lab @ git+{repository}@{branch}"
    import importlib.metadata
    stale = [m for m in ("numpy", "jax", "flax") if m in sys.modules and
             getattr(sys.modules[m], "__version__", None) != importlib.metadata.version(m)]
    if stale:
        print("Restart the runtime (Runtime > Restart session), then run all cells again:",
              ", ".join(stale), "were loaded before the install.")
"""


def settings() -> tuple[str, str]:
    """(repository URL, branch) from pyproject.toml."""
    config = tomllib.loads((ROOT / 'pyproject.toml').read_text())['tool']['orbax-migration-lab']
    return config['repository'].rstrip('/'), config['branch']


def colab_url(repository: str, branch: str, notebook: str) -> str:
    """The Colab URL that opens notebooks/<notebook>.ipynb of a GitHub repository.

    >>> colab_url('https://github.com/a/b', 'main', '00_setup')
    'https://colab.research.google.com/github/a/b/blob/main/notebooks/00_setup.ipynb'
    """
    path = repository.removeprefix('https://github.com/')
    return f'https://colab.research.google.com/github/{path}/blob/{branch}/notebooks/{notebook}.ipynb'


def badge(repository: str, branch: str, notebook: str) -> str:
    return f'[![Open in Colab]({BADGE_IMAGE})]({colab_url(repository, branch, notebook)})'


def updated_source(text: str, notebook: str, repository: str, branch: str) -> str:
    """A notebook source with its badge (under the title) and install cell brought up to date."""
    cell = INSTALL_CELL.format(repository=repository, branch=branch)
    text = _INSTALL.sub(lambda m: cell, text)
    line = badge(repository, branch, notebook)
    if _BADGE.search(text):
        return _BADGE.sub(line, text, count=1)
    # First time: put the badge on its own line after the first heading.
    return re.sub(r'^(# .*\n)', lambda m: m.group(1) + '\n' + line + '\n', text, count=1,
                  flags=re.MULTILINE)


def updated_readme(text: str, repository: str, branch: str) -> str:
    return _BADGE.sub(badge(repository, branch, '00_setup'), text)


def plan() -> dict[Path, str]:
    """{file: its up-to-date text} for every file whose links are out of date."""
    repository, branch = settings()
    changes = {}
    for md in sorted((ROOT / 'md_sources').glob('*.md')):
        text = md.read_text()
        new = updated_source(text, md.stem, repository, branch)
        if new != text:
            changes[md] = new
    readme = ROOT / 'README.md'
    text = readme.read_text()
    new = updated_readme(text, repository, branch)
    if new != text:
        changes[readme] = new
    return changes


def main(argv: list[str]) -> int:
    changes = plan()
    if '--check' in argv:
        for path in changes:
            print(f'{path.relative_to(ROOT)}: Colab links out of date; run `make colab-links`')
        return 1 if changes else 0
    for path, text in changes.items():
        path.write_text(text)
        print(f'updated {path.relative_to(ROOT)}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

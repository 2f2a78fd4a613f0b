"""Export every executed notebook to a static site that works with no network at all.

    python tools/build_site.py [OUT]        # default: site/

Each notebook becomes OUT/NN_name.html (nbconvert's 'lab' template, CSS inlined); OUT/index.html
lists them with their titles. The views' outputs are stored as text/html snapshots (the live
widget state is stripped by tools/refresh_notebooks.py), so they show without JavaScript.
Nothing is loaded from the network: MathJax and require.js are left out (no notebook needs
them) and remote images (the Colab badge) become their alt text.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The first Markdown heading of a notebook, without the leading #s."""
    for cell in nb.cells:
        if cell.cell_type == 'markdown':
            for line in cell.source.splitlines():
                if line.startswith('#'):
                    return line.lstrip('#').strip()
    return fallback


def exporter() -> HTMLExporter:
    e = HTMLExporter(template_name='lab')
    e.mathjax_url = ''
    e.require_js_url = ''
    return e


def build(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    export = exporter()
    pages = []
    entries = []
    for path in sorted((ROOT / 'notebooks').glob('*.ipynb')):
        nb = nbformat.read(path, as_version=4)
        body, _ = export.from_notebook_node(nb, resources={'metadata': {'name': path.stem}})
        page = out / f'{path.stem}.html'
        page.write_text(_offline(body), encoding='utf-8')
        pages.append(page)
        entries.append(f'<li><a href="{page.name}">{html.escape(path.stem)}</a>: '
                       f'{html.escape(title_of(nb, path.stem))}</li>')
    index = out / 'index.html'
    index.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>orbax-migration-lab</title>'
        '</head><body style="font-family:sans-serif;max-width:50em;margin:2em auto">'
        '<h1>orbax-migration-lab</h1><p>From <code>flax.training.checkpoints</code> to today\'s '
        'Orbax, one executed notebook per scenario.</p><ol start="0">'
        + ''.join(entries) + '</ol></body></html>\n', encoding='utf-8')
    return [index] + pages


def _offline(body: str) -> str:
    """No request leaves the page: drop the emptied CDN script tags, and show remote images
    (the Colab badge) as their alt text; the link around them still works online."""
    body = re.sub(r'<script src="">\s*</script>', '', body)
    return re.sub(r'<img\b[^>]*\bsrc="https?://[^"]*"[^>]*>', _alt_text, body)


def _alt_text(match: re.Match) -> str:
    alt = re.search(r'\balt="([^"]*)"', match.group(0))
    return alt.group(1) if alt else ''


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / 'site'
    pages = build(out)
    print(f'{len(pages)} pages in {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

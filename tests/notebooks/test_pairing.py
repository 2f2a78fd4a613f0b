"""Every md_sources/NN_name.md has its notebooks/NN_name.ipynb twin, with the same cells."""

from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / 'md_sources').glob('*.md'))
NOTEBOOKS = sorted((ROOT / 'notebooks').glob('*.ipynb'))


def cells(path: Path) -> list[tuple[str, str]]:
    nb = jupytext.read(path)
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_there_are_notebooks():
    assert SOURCES and NOTEBOOKS


@pytest.mark.parametrize('md', SOURCES, ids=lambda p: p.name)
def test_source_has_an_in_sync_notebook(md: Path):
    ipynb = ROOT / 'notebooks' / f'{md.stem}.ipynb'
    assert ipynb.exists(), f'{md.relative_to(ROOT)} has no notebooks/{ipynb.name}: run `make sync`'
    assert cells(md) == cells(ipynb), (
        f'{md.relative_to(ROOT)} and notebooks/{ipynb.name} differ: run `make sync`, then '
        f'`make refresh NB=notebooks/{ipynb.name}`')


@pytest.mark.parametrize('ipynb', NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_a_source(ipynb: Path):
    md = ROOT / 'md_sources' / f'{ipynb.stem}.md'
    assert md.exists(), f'notebooks/{ipynb.name} has no md_sources/{md.name}: run `make sync`'


@pytest.mark.parametrize('ipynb', NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_executed_and_stored_without_widget_ids(ipynb: Path):
    nb = jupytext.read(ipynb)
    code = [c for c in nb.cells if c.cell_type == 'code']
    assert all(c.get('execution_count') for c in code), (
        f'{ipynb.name} has cells that were never executed: run `make refresh NB=notebooks/{ipynb.name}`')
    assert 'widgets' not in nb.metadata, f'{ipynb.name} stores widget state: run `make refresh`'


@pytest.mark.parametrize('md', SOURCES, ids=lambda p: p.name)
def test_source_is_myst_markdown(md: Path):
    # MyST is what jupytext.toml pairs and what Sphinx/myst-nb sites (JAX, Flax) read.
    fmt = jupytext.read(md).metadata['jupytext']['text_representation']['format_name']
    assert fmt == 'myst', f'{md.relative_to(ROOT)} is {fmt!r}, not MyST: run `make myst`'

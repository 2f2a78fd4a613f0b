"""The views in a real JupyterLab: run every cell of a notebook and look at what renders."""

from lab_support import RECORDER, errors_in_outputs, open_notebook, run_all_cells, screenshot


def test_setup_notebook_renders_the_directory_tree(lab, page):
    open_notebook(page, lab, '00_setup.ipynb')
    page.evaluate(RECORDER)
    run_all_cells(page)
    assert errors_in_outputs(page) == []
    trees = page.locator('.jp-OutputArea .ckpt-widgets.directory-tree')
    assert trees.count() >= 2
    assert '00_first_checkpoint/' in trees.last.inner_text()
    screenshot(page, 'lab-00_setup')
    assert page.blocked_requests == [] or all('127.0.0.1' not in u for u in page.blocked_requests)

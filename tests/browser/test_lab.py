"""The views in a real JupyterLab: run every cell of a notebook and look at what renders.

Each test opens a scratch copy of a notebook, runs all cells in the kernel, and reads the
live widgets (not the stored snapshots: Run All clears those first).
"""


from tests.browser.lab_support import RECORDER, errors_in_outputs, open_notebook, run_all_cells, screenshot

VIEW = '.jp-OutputArea .ckpt-widgets'


# True when every displayed view of `folder` shows the same steps: the directory trees list
# exactly the step folders that the step views keep (their boxes' tooltips "step N: kept"),
# and both kinds of view are there.
LIVE_VIEWS_AGREE = """
(folder) => {
  const views = (kind, start) => [...document.querySelectorAll(
      `.jp-OutputArea .ckpt-widgets.${kind}`)].filter(el => el.innerText.startsWith(start));
  const sorted = (numbers) => numbers.map(Number).sort((a, b) => a - b).join(',');
  const onDisk = views('directory-tree', folder + '/').map(el => sorted(
      [...el.innerText.matchAll(/^[├└]── (\\d+)\\//gm)].map(m => m[1])));
  const kept = views('retained-steps', folder + ':').map(el => sorted(
      [...el.querySelectorAll('span[title]')].map(s => s.title.match(/^step (\\d+): kept/))
          .filter(Boolean).map(m => m[1])));
  const all = [...onDisk, ...kept];
  return onDisk.length > 0 && kept.length > 0 && all.every(s => s === all[0]) && all[0] === '2,3';
}
"""


def run_notebook(page, lab, name: str) -> None:
    open_notebook(page, lab, name)
    page.evaluate(RECORDER)
    run_all_cells(page)
    assert errors_in_outputs(page) == [], f'{name} wrote to stderr in the browser'


def test_setup_notebook_renders_the_directory_tree(lab, page):
    run_notebook(page, lab, '00_setup.ipynb')
    trees = page.locator(f'{VIEW}.directory-tree')
    assert trees.count() >= 2
    assert '00_first_checkpoint/' in trees.last.inner_text()
    screenshot(page, 'lab-00_setup')


def test_training_loop_views_show_the_steps_each_library_keeps(lab, page):
    run_notebook(page, lab, '01_training_loop.ipynb')
    steps = ' '.join(page.locator(f'{VIEW}.retained-steps').all_inner_texts())
    assert 'kept: [1, 2, 3, 4]' in steps, steps  # Flax keep=3, keep_every_n_steps=2
    assert 'kept: [0, 2, 3, 4]' in steps, steps  # Orbax max_to_keep=3, keep_period=2
    trees = ' '.join(page.locator(f'{VIEW}.directory-tree').all_inner_texts())
    assert 'test__4/' in trees and 'test_4' in trees
    assert "'str'" in page.locator(f'{VIEW}.pytree-view').first.inner_text()
    page.locator(f'{VIEW}.retained-steps').first.scroll_into_view_if_needed()
    screenshot(page, 'lab-01_training_loop')


def test_async_save_is_seen_unfinished_then_finished_live(lab, page):
    run_notebook(page, lab, '04_async_checkpointing.ipynb')
    states = page.evaluate('window.__viewStates')
    steps_states = [s for s in states if s.startswith('04_live:')]
    # The live steps view went through "step 1 unfinished" before "steps 1 and 2 kept".
    unfinished = [i for i, s in enumerate(steps_states) if 'unfinished: [1]' in s]
    finished = [i for i, s in enumerate(steps_states) if 'kept: [1, 2]' in s]
    assert unfinished and finished and unfinished[0] < finished[-1], steps_states
    tree_states = [s for s in states if s.startswith('04_live/')]
    assert any('1.orbax-checkpoint-tmp' in s and 'unfinished step' in s for s in tree_states)
    assert any('├── 1/' in s and '2/' in s and 'orbax-checkpoint-tmp' not in s for s in tree_states)
    # PytreeView and comparisons rendered from the live kernel
    assert page.locator(f'{VIEW}.comparison').count() >= 1
    # After the last cell, with nothing re-run and no follow() block, both views of 04_live
    # redraw by themselves (the kernel's folder watcher) and agree with the disk: steps 2, 3.
    page.wait_for_function(f"({LIVE_VIEWS_AGREE})('04_live')", timeout=30_000)
    page.locator(f'{VIEW}.retained-steps').first.scroll_into_view_if_needed()
    screenshot(page, 'lab-04_async_checkpointing')


def test_dashboard_restores_the_step_chosen_in_the_dropdown(lab, page):
    run_notebook(page, lab, '03_restore_without_target.ipynb')
    board = page.locator('.jp-OutputArea .widget-vbox').filter(
        has=page.locator('.ckpt-widgets.directory-tree')).last
    select = board.locator('select')
    options = select.locator('option').all_inner_texts()
    assert '2' in options, options
    assert 'step 2:' in board.locator('.ckpt-widgets.pytree-view').inner_text()
    other = next(o for o in options if o != '2')
    select.select_option(label=other)
    # The kernel restores the step and replaces the view's HTML (a new element each time).
    page.wait_for_function(
        """(step) => [...document.querySelectorAll('.widget-vbox .ckpt-widgets.pytree-view')]
                      .some(el => el.innerText.includes(`step ${step}:`))""",
        arg=other, timeout=30_000)
    assert f'step {other}:' in board.locator('.ckpt-widgets.pytree-view').inner_text()
    board.evaluate('el => el.scrollIntoView({block: "start"})')
    screenshot(page, 'dashboard')

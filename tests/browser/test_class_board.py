"""The class board in a real JupyterLab: it changes while simulated learners' checks run.

Runs notebook 14 (Run All) and records every state the live board's widget shows. The board
is displayed by one cell; the next cell runs the simulated room with `follow()`: the board's
output must go through intermediate states (learners appearing, a ✓ count growing) while
that cell runs, and its own cell is never run again.
"""

from tests.browser.lab_support import (
    RECORDER,
    errors_in_outputs,
    open_notebook,
    run_all_cells,
    screenshot,
)

LIVE = 'Class board 14_live_room'


def test_the_board_updates_live_while_a_simulated_room_checks(lab, page):
    open_notebook(page, lab, '14_classroom_board.ipynb')
    page.evaluate(RECORDER)
    run_all_cells(page, timeout_ms=240_000)
    assert errors_in_outputs(page) == [], '14 wrote to stderr in the browser'
    states = [s for s in page.evaluate('window.__viewStates') if s.startswith(LIVE)]
    assert states and '(0 learners' in states[0], states[:1]
    final = states[-1]
    assert '(2 learners' in final and 'ada' in final and 'alan' in final, final
    assert '2 pure: 2 ✓' in final, final
    # Between the empty board and the final one, the same output showed the room in progress.
    middle = [s for s in states[1:-1] if s != final]
    assert middle, states
    assert any('2 pure: 2 ✓' not in s and ('1 learners' in s or '2 learners' in s)
               for s in middle), middle
    # One output of the live board, from one run of its cell: updated in place.
    outputs = page.locator('.jp-OutputArea .ckpt-widgets.class-board')
    live = [t for t in outputs.all_inner_texts() if t.startswith(LIVE)]
    assert len(live) == 1 and '2 pure: 2 ✓' in live[0], live
    prompts = page.locator('.jp-CodeCell .jp-InputPrompt').all_inner_texts()
    numbers = [int(p.strip('[]: ')) for p in prompts if p.strip('[]: ').isdigit()]
    assert len(numbers) == len(set(numbers)) == len(prompts), prompts  # every cell ran once
    outputs.last.scroll_into_view_if_needed()
    screenshot(page, 'lab-14_classroom_board')

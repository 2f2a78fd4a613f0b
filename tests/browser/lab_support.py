"""Helpers for the browser tests: ports (the package's free_local_port), screenshots, driving JupyterLab."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from ckpt_widgets.lab.multiprocess import free_local_port as free_port  # noqa: F401 - the tests' name

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / 'artifacts'


def screenshot(target, name: str) -> Path:
    """Save a PNG of a page (what is in view) or of one element (a locator) in artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f'{name}.png'
    target.screenshot(path=str(path))
    return path


# Records every distinct text a ckpt_widgets view shows, in order, as the page changes, so a
# test can tell that a view went through a state (e.g. 'unfinished') however briefly. It reads
# the nodes each mutation added, not the page after the callback: when the browser is busy,
# several widget updates land before one callback, and only their added nodes keep each state.
RECORDER = """
() => {
  window.__viewStates = [];
  const seen = new Set();
  const keep = (el) => {
    const text = el.textContent;
    if (!seen.has(text)) { seen.add(text); window.__viewStates.push(text); }
  };
  const visit = (node) => {
    if (node.nodeType !== 1) return;
    if (node.matches('.ckpt-widgets')) keep(node);
    node.querySelectorAll('.ckpt-widgets').forEach(keep);
  };
  new MutationObserver((records) => {
    for (const r of records) r.addedNodes.forEach(visit);
  }).observe(document.body, {subtree: true, childList: true});
  document.querySelectorAll('.jp-OutputArea .ckpt-widgets').forEach(keep);
}
"""


def shut_down_kernels(lab: dict) -> None:
    """Stop every kernel the server runs, so that earlier tests' kernels leave the CPU alone."""
    def call(method: str, path: str):
        request = urllib.request.Request(f"{lab['base']}{path}?token={lab['token']}", method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    for kernel in json.loads(call('GET', '/api/kernels')):
        call('DELETE', f"/api/kernels/{kernel['id']}")


def open_notebook(page, lab: dict, name: str) -> None:
    """Open notebooks/<name> in JupyterLab (no other kernel running) and wait until idle."""
    shut_down_kernels(lab)
    # A workspace of its own, reset, so that no tab of an earlier test is open beside it.
    workspace = ''.join(c if c.isalnum() else '-' for c in name)
    page.goto(f"{lab['base']}/lab/workspaces/{workspace}/tree/{name}?reset&token={lab['token']}")
    page.wait_for_selector('.jp-Notebook .jp-Cell', timeout=60_000)
    # On a slow start Lab may ask which kernel to use before it has read the kernel specs;
    # the notebook names python3, which is what "Select" then confirms.
    select = page.locator('.jp-Dialog button', has_text='Select')
    try:
        select.wait_for(timeout=5_000)
        select.click()
    except Exception:
        pass
    wait_for_idle_kernel(page)


def menu(page, top: str, item: str) -> None:
    """Click a menu bar entry, then one of its items."""
    page.locator('.lm-MenuBar-itemLabel', has_text=top).first.click()
    page.locator('.lm-Menu-itemLabel', has_text=item).first.click()


def wait_for_idle_kernel(page, timeout_ms: int = 60_000) -> None:
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]',
                           timeout=timeout_ms)


def run_all_cells(page, timeout_ms: int = 120_000) -> None:
    """Run > Run All Cells from the menu bar, then wait until every cell has run.

    Lab can report an idle kernel before its websocket is ready, and then drops the
    requests: so the first cell must start within 30 s, or Run All is clicked again.
    """
    menu(page, 'Edit', 'Clear Outputs of All Cells')
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                    .every(p => !/\\d/.test(p.innerText))""", timeout=30_000)
    for attempt in range(3):
        menu(page, 'Run', 'Run All Cells')
        try:
            page.wait_for_function(
                """() => /\\[(\\*|\\d+)\\]/.test(
                      document.querySelector('.jp-CodeCell .jp-InputPrompt').innerText)""",
                timeout=30_000)
            break
        except Exception:
            if attempt == 2:
                screenshot(page, 'failed-run-all')
                raise
    try:
        _wait_all_prompts_numbered(page, timeout_ms)
    except Exception as e:
        screenshot(page, 'failed-run-all')
        # Run All stops at a failing cell: say which error, not only that it timed out.
        errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
                              ).all_inner_texts()
        raise AssertionError(f'not every cell ran; errors shown: {errors[-3:]}') from e
    wait_for_idle_kernel(page, timeout_ms)


def _wait_all_prompts_numbered(page, timeout_ms: int) -> None:
    page.wait_for_function(
        """() => {
          const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
          return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.innerText));
        }""", timeout=timeout_ms)


def errors_in_outputs(page) -> list[str]:
    """Texts of error outputs (tracebacks) and of stderr streams in the notebook."""
    return page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
                        ).all_inner_texts()

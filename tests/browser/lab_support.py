"""Helpers for the browser tests: ports, screenshots, driving JupyterLab."""

from __future__ import annotations

import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / 'artifacts'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f'{name}.png'
    page.screenshot(path=str(path), full_page=False)
    return path


# Records every distinct text a ckpt_widgets view shows, in order, as the page changes,
# so a test can tell that a view went through a state (e.g. 'unfinished') however briefly.
RECORDER = """
() => {
  window.__viewStates = [];
  const seen = new Set();
  const record = () => {
    for (const el of document.querySelectorAll('.jp-OutputArea .ckpt-widgets')) {
      const text = el.innerText;
      if (!seen.has(text)) { seen.add(text); window.__viewStates.push(text); }
    }
  };
  new MutationObserver(record).observe(document.body,
      {subtree: true, childList: true, characterData: true});
  record();
}
"""


def open_notebook(page, lab: dict, name: str) -> None:
    """Open notebooks/<name> in JupyterLab and wait until its kernel is idle."""
    page.goto(f"{lab['base']}/lab/tree/{name}?token={lab['token']}")
    page.wait_for_selector('.jp-Notebook .jp-Cell', timeout=60_000)
    wait_for_idle_kernel(page)


def wait_for_idle_kernel(page, timeout_ms: int = 60_000) -> None:
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]',
                           timeout=timeout_ms)


def run_all_cells(page, timeout_ms: int = 120_000) -> None:
    """Run > Run All Cells from the menu bar, then wait until every cell has run.

    Lab can report an idle kernel before its websocket is ready, and then drops the
    requests: so the first cell must start within 30 s, or Run All is clicked again.
    """
    for attempt in range(3):
        page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
        page.locator('.lm-Menu-itemLabel', has_text='Run All Cells').first.click()
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
    except Exception:
        screenshot(page, 'failed-run-all')
        raise
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

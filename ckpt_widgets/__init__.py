"""Live views of checkpoint directories, retained steps and restored pytrees.

The pieces, in the order data flows through them:
- `scan` / `steps` / `pytrees`: read the disk or a pytree into plain data (`model`);
- `render`: that data as deterministic text and static HTML;
- `views`: ipywidgets that show it live (`DirectoryTree`, `RetainedSteps`, `PytreeView`,
  `Dashboard`), `Row` to put views side by side, and `compare` for leaf-by-leaf equality;
- `runtime`: host devices, quiet logs, per-notebook working directories, versions.

>>> import ckpt_widgets as cw
>>> cw.compare([1, 'a'], [1, 'a']).equal
True
"""

from . import examples
from .errors import error_headline
from .runtime import (in_colab, pinned_versions, quiet_logs, show_logs, use_host_devices,
                      version_table, workdir)
from .views import Compared, Dashboard, DirectoryTree, PytreeView, RetainedSteps, Row, compare

# The workshop room's board, imported on first use: the views never import a room.
_LAZY = {'ClassBoard': 'ckpt_widgets.workshop.board'}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'ClassBoard',
    'examples', 'error_headline', 'Compared', 'Dashboard', 'DirectoryTree', 'PytreeView', 'RetainedSteps', 'Row', 'compare',
    'in_colab', 'pinned_versions', 'quiet_logs', 'show_logs', 'use_host_devices',
    'version_table', 'workdir',
]

"""Live views of checkpoint directories, retained steps and restored pytrees.

The top level holds the views and their pipeline, in the order data flows through them:
`names` (what Orbax and Flax call things) -> `scan` / `steps` / `pytrees` / `read_step` /
`health` (the disk or a pytree as plain records, `model`) -> `render` (deterministic text and
static HTML) -> `views` (the only ipywidgets module); `runtime` and `errors` serve notebooks.
Three rooms use them and are never imported by them: `migrate` (Flax retention, legacy
folders, the converter), `lab` (one drill module per notebook) and `workshop` (the exercises).

This face is lazy (PEP 562): `import ckpt_widgets` imports no JAX, Orbax or ipywidgets; each
name below imports its module on first use, so the CLI and child processes start fast.

>>> import ckpt_widgets as cw
>>> cw.compare([1, 'a'], [1, 'a']).equal
True
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> module that defines it (relative to this package)
_NAMES = {
    'Compared': 'views',
    'Dashboard': 'views',
    'DirectoryTree': 'views',
    'PytreeView': 'views',
    'RetainedSteps': 'views',
    'Row': 'views',
    'compare': 'views',
    'FlaxRetention': 'migrate.retention',
    'diagnose_step': 'health',
    'error_headline': 'errors',
    'flax_msgpack_writer': 'runtime',
    'in_colab': 'runtime',
    'pinned_versions': 'runtime',
    'quiet_logs': 'runtime',
    'setup': 'runtime',
    'Shown': 'shown',
    'show_logs': 'runtime',
    'use_host_devices': 'runtime',
    'version_table': 'runtime',
    'workdir': 'runtime',
    'workdir_base': 'runtime',
    'show_deprecation_events': 'deprecation_events',
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'.{module}', __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))

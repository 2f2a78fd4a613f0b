"""`ckpt-lab migrate-code`: rewrite `flax.training.checkpoints` calls to today's Orbax (libcst).

Names are resolved by import (`resolve`), never by text; one module per rule family
(`save_rules`, `restore_rules`, `orbax_utils_rules`, `flags`), `options` for Flax's prefix and
retention, `analysis` -> `plan` -> `apply` for the edit itself, `report` for what happened,
`notebook` for .ipynb cells and `files` for folders, diffs and `--write`.

    >>> from ckpt_widgets.migrate.code import migrate_source
    >>> migrate_source('x = 1\\n')[0]
    'x = 1\\n'
"""

from .files import diff, migrate_file, migrate_paths
from .report import FLAGGED, LEFT, REWRITTEN, FileResult, Finding, Report
from .rewrite import migrate_source

__all__ = [
           'FLAGGED',
           'LEFT',
           'REWRITTEN',
           'FileResult',
           'Finding',
           'Report',
           'diff',
           'migrate_file',
           'migrate_paths',
           'migrate_source',
]

"""An exception as one short line that reads the same on every machine.

Notebooks print the error a failing legacy call raises. Orbax's tensorstore errors put a whole
JSON spec on their first line and name absolute temp paths; `error_headline` keeps the useful
part and makes paths under `root` relative.

>>> error_headline(ValueError('Destination /tmp/x/1 already exists.'), root='/tmp/x')
'ValueError: Destination x/1 already exists.'
"""

from __future__ import annotations

import os

_SPEC_MARKERS = (' [tensorstore_spec=', " [source locations='")


def error_headline(error: BaseException, root: str | os.PathLike | None = None) -> str:
    """`TypeName: first line of the message`, without tensorstore's JSON spec.

    With `root`, every occurrence of that absolute path is replaced by its last component, so
    the line reads the same on every machine and in every temp folder.

    >>> error_headline(KeyError('step 3'))
    "KeyError: 'step 3'"
    """
    lines = str(error).splitlines()
    message = lines[0] if lines else ''
    for marker in _SPEC_MARKERS:
        message = message.split(marker)[0]
    if root is not None:
        root = os.fspath(root).rstrip(os.sep)
        message = message.replace(root, os.path.basename(root))
    return f'{type(error).__name__}: {message}'

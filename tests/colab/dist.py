"""Build the package the way a user gets it: an sdist, and a wheel built from that sdist.

    >>> sorted(p.suffix for p in build_dist(Path(tempfile.mkdtemp())))  # doctest: +SKIP
    ['.gz', '.whl']
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


# Left-overs of earlier builds (a stale *.egg-info/SOURCES.txt, build/lib) would hide a module
# missing from the package list, so the build starts from a clean copy of the sources.
_NOT_SOURCES = shutil.ignore_patterns('.git', '.venv', '*.egg-info', 'build', 'dist', 'site',
                                      'artifacts', '__pycache__', '.ipynb_checkpoints')


def build_dist(out: Path) -> tuple[Path, Path]:
    """(wheel, sdist) of the repository in `out`, built with `python -m build` (isolated)."""
    source = out / 'source'
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
    done = subprocess.run([sys.executable, '-m', 'build', '--outdir', str(out), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f'python -m build failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}'
    return next(out.glob('*.whl')), next(out.glob('*.tar.gz'))

"""`python -m ckpt_widgets ...` is the `ckpt-lab` command (see ckpt_widgets.migrate.cli)."""

import sys

from ckpt_widgets.migrate.cli import main

sys.exit(main())

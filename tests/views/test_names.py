"""names: Orbax's file names are written out in names.py; they must be Orbax's own."""

import subprocess
import sys

import orbax.checkpoint as ocp

from ckpt_widgets import names


def test_file_names_are_the_ones_orbax_uses():
    assert names.TMP_SUFFIX == ocp.path.atomicity_types.TMP_DIR_SUFFIX
    assert names.COMMIT_SUCCESS_FILE == ocp.path.atomicity_types.COMMIT_SUCCESS_FILE
    assert names.PYTREE_METADATA_FILE == ocp.path.format_utils.PYTREE_METADATA_FILE
    assert names.OCDBT_MANIFEST_FILE == ocp.path.format_utils.OCDBT_MANIFEST_FILE


def test_step_names_follow_orbax_once_it_is_loaded():
    assert names.step_of('run_12') == ocp.path.step.step_from_checkpoint_name('run_12') == 12
    assert names.step_of('3.orbax-checkpoint-tmp') == 3 and names.step_of('default') is None


def test_reading_names_loads_neither_orbax_nor_jax():
    code = ('import sys; from ckpt_widgets import names; '
            'print(names.is_tmp_name("1.orbax-checkpoint-tmp"), '
            '[m for m in ("jax", "orbax.checkpoint") if m in sys.modules])')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ['True', '[]']

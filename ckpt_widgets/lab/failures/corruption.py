"""Damage a checkpoint the way disks and users do, and see what each restore API makes of it.

Damage functions (each returns the path it changed):
:func:`truncate_data_file`, :func:`delete_metadata`, :func:`garble_manifest`,
:func:`flip_data_bytes` (Orbax step dirs) and :func:`truncate_msgpack` (legacy
Flax files). :func:`ckpt_widgets.health.diagnose_step` tells damaged steps apart
cheaply; :func:`restore_outcomes` runs every
restore API and records what a user would see.

Measured on orbax-checkpoint 0.12.8 / tensorstore 0.1.86 (see
``tests/lab/test_corruption.py``):

============================  =========================  =======================
damage                        cheap check sees it?       restore
============================  =========================  =======================
``_METADATA`` deleted         yes (file missing)         fails without a target;
                                                         WORKS with a target
``manifest.ocdbt`` garbage    yes (magic/length header)  ValueError DATA_LOSS
data file under ``d/`` cut    no (needs the OCDBT tree)  ValueError OUT_OF_RANGE
bytes flipped in ``d/``       no                         SILENT: wrong values
msgpack truncated             yes (structure walk)       ValueError Unpack failed
============================  =========================  =======================

Example::

    >>> import tempfile
    >>> from ckpt_widgets import health
    >>> from ckpt_widgets.lab.examples import saved_step
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     step_dir = saved_step(tmp)
    ...     _ = garble_manifest(step_dir)
    ...     health.diagnose_step(step_dir)
    'default/manifest.ocdbt unreadable: not an OCDBT manifest'
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import warnings
from typing import Any, Callable

from ckpt_widgets import failure_noise, names
from ckpt_widgets.shown import Shown

TMP_SUFFIX = names.TMP_SUFFIX
_GARBAGE = b'not an ocdbt manifest, just garbage '


def _existing_step_dir(step_dir: str | os.PathLike) -> pathlib.Path:
    step_dir = pathlib.Path(step_dir)
    if not step_dir.is_dir():
        raise FileNotFoundError(f'not a checkpoint directory: {step_dir}')
    return step_dir


def _largest_data_file(step_dir: str | os.PathLike) -> pathlib.Path:
    files = _data_files(_existing_step_dir(step_dir))
    if not files:
        raise FileNotFoundError(f'no data files under a d/ folder in {step_dir}')
    return files[0]


def _first_item_file(step_dir: str | os.PathLike, name: str) -> pathlib.Path:
    """The file ``name`` of the first pytree item of the step that has one."""
    for item in names.pytree_item_dirs(_existing_step_dir(step_dir)):
        if (item / name).exists():
            return item / name
    raise FileNotFoundError(f'no {name} in {step_dir}')


def _data_files(step_dir: pathlib.Path) -> list[pathlib.Path]:
    """Files under any ``d/``, largest first (the array data, not tree nodes)."""
    files = [p for p in step_dir.rglob('*') if p.is_file() and p.parent.name == 'd']
    return sorted(files, key=lambda p: (-p.stat().st_size, str(p)))


def truncate_data_file(step_dir: str | os.PathLike) -> pathlib.Path:
    """Cuts the largest file under ``d/`` to half its size, like a full disk.

    Example::

        >>> import tempfile
        >>> from ckpt_widgets.lab.examples import saved_step
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     truncate_data_file(saved_step(tmp)).parent.name
        'd'
    """
    target = _largest_data_file(step_dir)
    os.truncate(target, target.stat().st_size // 2)
    return target


def flip_data_bytes(step_dir: str | os.PathLike, count: int = 64) -> pathlib.Path:
    """Inverts ``count`` bytes in the middle of the largest data file (bit rot).

    Example::

        >>> import tempfile
        >>> from ckpt_widgets.lab.examples import saved_step
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     flip_data_bytes(saved_step(tmp)).parent.name
        'd'
    """
    target = _largest_data_file(step_dir)
    data = bytearray(target.read_bytes())
    middle = len(data) // 2
    for i in range(middle, min(middle + count, len(data))):
        data[i] ^= 0xFF
    target.write_bytes(bytes(data))
    return target


def delete_metadata(step_dir: str | os.PathLike) -> pathlib.Path:
    """Deletes the first item's ``_METADATA`` (the tree structure) and returns it.

    Example::

        >>> import tempfile
        >>> from ckpt_widgets.lab.examples import saved_step
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     delete_metadata(saved_step(tmp)).name
        '_METADATA'
    """
    metadata = _first_item_file(step_dir, names.PYTREE_METADATA_FILE)
    metadata.unlink()
    return metadata


def garble_manifest(step_dir: str | os.PathLike) -> pathlib.Path:
    """Overwrites the first item's ``manifest.ocdbt`` with same-size garbage.

    Example::

        >>> import tempfile
        >>> from ckpt_widgets.lab.examples import saved_step
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     garble_manifest(saved_step(tmp)).name
        'manifest.ocdbt'
    """
    manifest = _first_item_file(step_dir, names.OCDBT_MANIFEST_FILE)
    size = manifest.stat().st_size
    manifest.write_bytes((_GARBAGE * (size // len(_GARBAGE) + 1))[:size])
    return manifest


def truncate_msgpack(path: str | os.PathLike) -> pathlib.Path:
    """Cuts a legacy Flax checkpoint file to half its size.

    Example::

        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp, 'checkpoint_1')
        ...     _ = path.write_bytes(bytes(100))
        ...     truncate_msgpack(path).stat().st_size
        50
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'not a legacy Flax checkpoint file: {path}')
    os.truncate(path, path.stat().st_size // 2)
    return path


@dataclasses.dataclass(frozen=True, repr=False)
class RestoreOutcome(Shown):
    """What one restore API did with a checkpoint: ``ok`` or the error it raised.

    Example::

        >>> RestoreOutcome('v1 load', ok=False, error_type='ValueError',
        ...                message='DATA_LOSS: ...').text
        'v1 load: ValueError: DATA_LOSS: ...'
    """

    api: str
    ok: bool
    error_type: str | None = None
    message: str | None = None
    value: Any = None

    @property
    def text(self) -> str:
        """One line: the API and `restored`, or the error (its first 160 characters)."""
        if self.ok:
            return f'{self.api}: restored'
        return f'{self.api}: {self.error_type}: {self.message[:160]}'


def _attempt(api: str, fn: Callable[[], Any]) -> RestoreOutcome:
    try:
        with warnings.catch_warnings():
            # "Sharding info not provided" on restores without a target: noise here.
            warnings.simplefilter('ignore', UserWarning)
            value = fn()
    except Exception as e:  # pylint: disable=broad-except
        # The first line only: tensorstore appends long context lines.
        return RestoreOutcome(api, False, type(e).__name__, str(e).split('\n')[0])
    return RestoreOutcome(api, True, value=value)


def restore_outcomes(
    directory: str | os.PathLike, step: int, target: Any = None
) -> list[RestoreOutcome]:
    """Tries every restore API a user may reach for on one manager step.

    ``directory`` is the manager root (absolute); ``target`` an optional
    pytree of arrays for the target-based calls. Messages show the root as
    ``<ckpt>``; the stderr noise failed reads leave behind is swallowed.

    Example::

        >>> import tempfile
        >>> from ckpt_widgets.lab.examples import saved_step
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = saved_step(tmp)
        ...     [o.text for o in restore_outcomes(tmp, 1)][0]
        'CheckpointManager.restore(StandardRestore()): restored'
    """
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
    from flax.training import checkpoints as flax_checkpoints  # pylint: disable=g-import-not-at-top
    from orbax.checkpoint.experimental import v1 as ocp_v1  # pylint: disable=g-import-not-at-top

    directory = pathlib.Path(directory)
    step_dir = directory / str(step)

    def manager_restore(args):
        def run():
            with ocp.CheckpointManager(directory) as mgr:
                return mgr.restore(step, args=args)
        return run

    attempts = [
        ('CheckpointManager.restore(StandardRestore())',
         manager_restore(ocp.args.StandardRestore())),
    ]
    if target is not None:
        attempts.append(('CheckpointManager.restore(StandardRestore(target))',
                         manager_restore(ocp.args.StandardRestore(target))))
    attempts += [
        ('PyTreeCheckpointer().restore(step/default)',
         lambda: ocp.PyTreeCheckpointer().restore(step_dir / 'default')),
        ('v1.load(step)', lambda: ocp_v1.load(step_dir)),
        ('flax restore_checkpoint(step/default)',
         lambda: flax_checkpoints.restore_checkpoint(step_dir / 'default', None)),
    ]
    with failure_noise.swallowed():
        outcomes = [_attempt(api, fn) for api, fn in attempts]
    # Temp dir names change run to run; a checked notebook output must not.
    return [
        dataclasses.replace(o, message=o.message.replace(str(directory), '<ckpt>'))
        if o.message else o
        for o in outcomes
    ]

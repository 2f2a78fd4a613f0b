"""`ckpt-lab`: everything the project offers outside a notebook, as one command.

    ckpt-lab migrate-code PATH... [--write]   rewrite flax.training.checkpoints calls to Orbax
    ckpt-lab convert SRC DST [...]            move legacy checkpoints (also `ckpt-convert`)
    ckpt-lab tree DIR [--json]                the directory as DirectoryTree shows it
    ckpt-lab steps DIR [--prefix P] [--json]  the steps as RetainedSteps shows them
    ckpt-lab inspect DIR [--step N] [--json]  one step's leaves from its metadata

`python -m ckpt_widgets` is the same command. Bad arguments: one line on stderr, exit 2.

>>> main(['tree'])  # prints 'ckpt-lab tree: error: ... required: DIR' on stderr
2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence

PROG = 'ckpt-lab'


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line (no usage block, no traceback)."""

    def error(self, message: str):
        raise _UsageError(f'{self.prog}: error: {message}')


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=(
        'Orbax migration lab on the command line: migrate code and checkpoints, and look '
        'at checkpoint folders as the notebooks\' views show them.'),
        epilog='`ckpt-lab COMMAND --help` says what each command does.')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', parser_class=_Parser)
    sub.required = True

    p = sub.add_parser('migrate-code', help='rewrite flax.training.checkpoints calls to Orbax', description=(
        'Rewrite legacy flax.training.checkpoints calls (save_checkpoint, restore_checkpoint, '
        'latest_checkpoint, AsyncManager, save_checkpoint_multiprocess, orbax_utils helpers) '
        'in .py files and .ipynb notebooks to today\'s Orbax CheckpointManager API. Names are '
        'resolved by import: a project\'s own save_checkpoint is never touched. Prints a '
        'unified diff and a report (file:line, legacy call, what it became or why it was '
        'left). What cannot be rewritten safely gets a "# TODO(orbax-migration): <reason>" '
        'line above it. Without --write nothing on disk changes.'),
        epilog='exit status: 0 nothing left to do by hand; 1 some calls were flagged (TODO); '
               '2 bad arguments or a file that does not parse (named; the others are processed)')
    p.add_argument('paths', nargs='+', metavar='PATH', help='.py / .ipynb files or folders of them')
    p.add_argument('--write', action='store_true', help='apply the changes to the files')
    p.add_argument('--no-diff', action='store_true', help='print only the report')
    p.add_argument('--jobs', type=int, metavar='N',
                   help='worker processes for large trees (default: the CPUs, at most 4)')

    sub.add_parser('convert', add_help=False, prefix_chars='\0',
                   help='convert a legacy Flax checkpoint folder into an Orbax one (ckpt-convert)',
                   description='see `ckpt-lab convert --help`').add_argument(
        'rest', nargs=argparse.REMAINDER)

    p = sub.add_parser('tree', help='a checkpoint folder as DirectoryTree shows it', description=(
        'Print a checkpoint folder as the notebooks\' DirectoryTree view shows it: every '
        'entry with its role (step, item, metadata, unfinished save...), sorted, no sizes '
        'that change from run to run. Only reads.'))
    p.add_argument('directory', metavar='DIR')
    p.add_argument('--expand', choices=('latest', 'all', 'none'), default='latest',
                   help='which step folders are listed file by file (default: %(default)s)')
    p.add_argument('--json', action='store_true', help='the DirectorySnapshot record as JSON')

    p = sub.add_parser('steps', help='the steps of a folder as RetainedSteps shows them', description=(
        'Print the steps of a checkpoint folder as the RetainedSteps view shows them: '
        'kept, unfinished (save not committed), damaged, and the layout that wrote them '
        '(Orbax manager, Flax on Orbax, Flax msgpack). Only reads.'))
    p.add_argument('directory', metavar='DIR')
    p.add_argument('--prefix', help="only names starting with P (Flax's prefix= or Orbax's step_prefix)")
    p.add_argument('--json', action='store_true', help='the StepTimeline record as JSON')

    p = sub.add_parser('inspect', help="one step's leaves: shapes, dtypes, shardings", description=(
        "Print one step's leaves with shapes, dtypes and the shardings they were saved "
        'with, read from Orbax\'s metadata: no array data is loaded. A legacy msgpack step '
        'has no separate metadata, so that one file is read. Default: the newest step.'))
    p.add_argument('directory', metavar='DIR')
    p.add_argument('--step', type=int, help='step number (default: the newest finished step)')
    p.add_argument('--prefix', help="step name prefix (Flax's prefix= or Orbax's step_prefix)")
    p.add_argument('--json', action='store_true', help='the PytreeSummary record as JSON')
    return parser


def _print_json(record) -> None:
    print(json.dumps(dataclasses.asdict(record), indent=2, sort_keys=True))


def _error(command: str, message: str) -> int:
    """One line on stderr, as argparse words its own errors; the exit status of bad input."""
    print(f'{PROG} {command}: error: {message}', file=sys.stderr)
    return 2


def _migrate_code(args) -> int:
    from ckpt_widgets.migrate.code import diff, migrate_paths
    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        return _error('migrate-code', f'no such file or folder: {missing[0]}')
    if args.jobs is not None and args.jobs < 1:
        return _error('migrate-code', '--jobs must be 1 or more')
    report = migrate_paths(args.paths, write=args.write, jobs=args.jobs)
    if not args.no_diff:
        for result in report.files:
            text = diff(result)
            if text:
                sys.stdout.write(text)
    print(report.text)
    if args.write:
        print(f'written: {sum(r.changed for r in report.files)} files')
    return report.exit_code


def convert_parser(prog: str = f'{PROG} convert') -> argparse.ArgumentParser:
    """The arguments of `ckpt-lab convert` (and of `python -m ckpt_widgets.migrate.convert`).

    Here, not in the converter, so that `--help` and a bad argument answer before JAX loads.
    """
    from ckpt_widgets.names import FLAX_DEFAULT_PREFIX
    parser = _Parser(
        prog=prog,
        description=(
            'Convert a legacy Flax checkpoint directory (msgpack files or Orbax-backend '
            'directories written by flax.training.checkpoints.save_checkpoint) into an '
            'Orbax CheckpointManager directory with the same step numbers. SRC is only '
            'read. Each step is verified after writing. Re-running resumes.'
        ),
        epilog='exit status: 0 all steps converted, 1 some step not converted, 2 bad arguments',
    )
    parser.add_argument('src', metavar='SRC', help='directory holding <prefix><step> checkpoints')
    parser.add_argument('dst', metavar='DST', help='new or empty directory for the Orbax checkpoints')
    parser.add_argument('--prefix', default=FLAX_DEFAULT_PREFIX, help='step name prefix (default: %(default)s)')
    parser.add_argument('--like', metavar='MODULE:CALLABLE', help=(
        'write each step as StandardSave writes the state this callable returns (your train '
        'state or its abstract form), e.g. mypkg.train:initial_state; default: Flax\'s state dict'))
    parser.add_argument('--force', action='store_true',
                        help='write into a non-empty DST, replacing steps with the same numbers')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar (it is off anyway when stderr is not a terminal)')
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | int:
    """The parsed arguments, or the exit status when there is nothing to run: 0 after --help,
    2 after a bad argument (said in one line on stderr)."""
    try:
        return parser.parse_args(argv)
    except _UsageError as e:
        print(e, file=sys.stderr)
        return 2
    except SystemExit as e:  # --help
        return int(e.code or 0)


def parse_convert_args(argv: Sequence[str], prog: str = f'{PROG} convert') -> argparse.Namespace | int:
    """The parsed arguments of a convert command, or its exit status (see `_parse`)."""
    return _parse(convert_parser(prog), argv)


def _convert(args) -> int:
    parsed = parse_convert_args(args.rest)
    if isinstance(parsed, int):
        return parsed
    from ckpt_widgets.migrate import convert
    return convert.run(parsed)


def _read_dir_problem(directory: str) -> str | None:
    from pathlib import Path

    from ckpt_widgets import scan
    return scan.path_problem(Path(directory))


def _tree(args) -> int:
    from ckpt_widgets import render, scan
    snapshot = scan.scan_directory(args.directory, expand=args.expand)
    if snapshot.problem:
        return _error('tree', f'{args.directory}: {snapshot.problem}')
    _print_json(snapshot) if args.json else print(render.directory_text(snapshot))
    return 0


def _steps(args) -> int:
    from ckpt_widgets import render
    from ckpt_widgets.steps import StepTracker
    problem = _read_dir_problem(args.directory)
    if problem:
        return _error('steps', f'{args.directory}: {problem}')
    timeline = StepTracker(args.directory, prefix=args.prefix).timeline()
    _print_json(timeline) if args.json else print(render.steps_text(timeline))
    return 0


def _inspect(args) -> int:
    from ckpt_widgets import render, runtime
    from ckpt_widgets.migrate.step_metadata import step_summary
    problem = _read_dir_problem(args.directory)
    if problem:
        return _error('inspect', f'{args.directory}: {problem}')
    runtime.quiet_logs()
    try:
        summary = step_summary(args.directory, args.step, args.prefix)
    except (OSError, ValueError) as e:
        return _error('inspect', str(e))
    _print_json(summary) if args.json else print(render.pytree_text(summary))
    return 0


_COMMANDS = {'migrate-code': _migrate_code, 'convert': _convert, 'tree': _tree,
             'steps': _steps, 'inspect': _inspect}


def main(argv: Sequence[str] | None = None) -> int:
    """`ckpt-lab` entry point; returns the exit status (2: bad arguments, one line on stderr)."""
    args = _parse(_parser(), list(sys.argv[1:] if argv is None else argv))
    return args if isinstance(args, int) else _COMMANDS[args.command](args)


def convert_main(argv: Sequence[str] | None = None) -> int:
    """`ckpt-convert`: the old name of `ckpt-lab convert`."""
    return main(['convert', *(sys.argv[1:] if argv is None else argv)])


"""What the class board costs: read + render a progress folder of 500 learners x 50 records.

    python benchmarks/bench_board.py           # full: 500 learners x 50 records, 9 repeats
    python benchmarks/bench_board.py --quick   # CI-sized: the same room, 3 repeats

Target (issue 14): the board of 500 learners renders in under 200 ms. Measured apart:
`parse_board` (read every file, aggregate), `board_text`, `board_html`, a new `ClassBoard`
(all of it, every file read: `cold_refresh`) and the live view's `refresh()` with no file
changed since the last one (files are re-read only when their size or mtime changed).
Results: benchmarks/results/board.json and a Markdown table on stdout. A benchmark, not a
timed test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench_widgets import timed  # the same timing, so the two tables read alike

HERE = Path(__file__).resolve().parent
LEARNERS, RECORDS = 500, 50
TARGET_MS = 200


def make_room(folder: Path, learners: int = LEARNERS, records: int = RECORDS) -> None:
    """`learners` files of `records` records each, every exercise, status and a few hints."""
    from ckpt_widgets.workshop import board, progress

    exercises = [key for key, _ in board.EXERCISES]
    keys = ['keep-period', 'step-prefix', 'relative-path', 'forgot-wait', 'str-leaf']
    statuses = ['not attempted', 'failed', 'failed', 'passed']
    for i in range(learners):
        name = f'learner{i:03d}'
        data = b''.join(progress.encode(progress.make_record(
            exercise=exercises[(n // 10) % len(exercises)], status=statuses[(i + n) % 4],
            hint=f'you kept steps [0, 2, 3, {n}]; Flax kept [1, 2, 3, {n}]: a typical hint line',
            hint_key=keys[(i * n) % len(keys)], learner=name, time=1.7e9 + 60 * n + i))
            for n in range(records))
        (folder / f'{name}.jsonl').write_bytes(data)


def run(repeat: int) -> dict:
    from ckpt_widgets.workshop.board import (
        ClassBoard,
        board_html,
        board_text,
        parse_board,
    )

    folder = Path(tempfile.mkdtemp(prefix='bench-board-'))
    try:
        make_room(folder)
        now = 1.7e9 + 3600
        model = parse_board(folder, now=now)
        assert len(model.learners) == LEARNERS and model.records == LEARNERS * RECORDS
        view = ClassBoard(folder, now=now)
        return {
            'learners': LEARNERS, 'records_each': RECORDS,
            'bytes': sum(p.stat().st_size for p in folder.iterdir()),
            'parse': timed(lambda: parse_board(folder, now=now), repeat),
            'text': timed(lambda: board_text(model), repeat),
            'html': timed(lambda: board_html(model), repeat),
            'cold_refresh': timed(lambda: ClassBoard(folder, now=now), repeat),
            'refresh': timed(view.refresh, repeat),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def markdown(results: dict) -> str:
    r = results['board']
    rows = [f"| {what} | {r[what]['median_ms']} ms ({r[what]['min_ms']}-{r[what]['max_ms']}) |"
            for what in ('parse', 'text', 'html', 'cold_refresh', 'refresh')]
    ok = '✓' if r['cold_refresh']['median_ms'] < TARGET_MS else 'missed'
    return '\n'.join([
        (f"Class board of {r['learners']} learners x {r['records_each']} records "
         f"({r['bytes'] / 1e6:.1f} MB), median (min-max) of {r['refresh']['repeat']}, "
         f"load {results['load_average'][0]}:"), '',
        '| step | time |', '|---|---|', *rows, '',
        (f"Whole board (read every file + text + HTML): {r['cold_refresh']['median_ms']} ms, "
         f'target < {TARGET_MS} ms {ok}')])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='a CI-sized run')
    parser.add_argument('--out', type=Path, default=HERE / 'results' / 'board.json')
    args = parser.parse_args(argv)
    results = {'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
               'machine': f'{os.cpu_count()} CPUs, {platform.platform()}',
               'load_average': [round(x, 2) for x in os.getloadavg()],
               'quick': args.quick, 'board': run(3 if args.quick else 9)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + '\n')
    print(markdown(results))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

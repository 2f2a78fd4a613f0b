"""Benchmark: which Orbax options take a big save and restore to the disk's limits.

    python benchmarks/bench_tuning.py            # 1 GB on 1 and 8 devices, every option, 3 repeats
    python benchmarks/bench_tuning.py --quick    # 50 MB, 1 repeat (checks the script, not the disk)

Each option of ckpt_widgets/lab/tuning.py changes ONE thing in the default synchronous Orbax save
(zstd, OCDBT, zarr3, chunk size, OCDBT data-file size, concurrency limits, async, the v1 API and
its Context options); the two recipes combine what helped. Save = until durable, restore = after
dropping the files from the page cache, as in bench_checkpoint.py; the disk's limits (write +
fsync, read) are measured in the same process, half before and half after the options. CPU
seconds per wall second say what bounds a run: near the core count it is the CPU, not the disk.

Writes benchmarks/results/tuning.json, benchmarks/results/tuning.png (full runs only) and prints
a Markdown table. Targets (reported, not asserted): the recipe saves at >= 90 % of the disk's
write limit and restores at >= 70 % of its read limit, on 1 and on 8 devices.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_checkpoint import _mb_s, machine_info, measure_against_disk  # noqa: E402

from ckpt_widgets.lab import costs, tuning  # noqa: E402

RESULTS = HERE / 'results'
SAVE_TARGET, RESTORE_TARGET = 0.90, 0.70


def measure_options(megabytes: float, repeats: int, directory: Path, options: list[str]) -> dict:
    """The disk's limits and every option, for one tree on this process's devices."""
    import jax
    devices = len(jax.devices())

    def one(name: str, tree: Any, nbytes: int) -> dict:
        print(f'  {devices} device(s): {name}', flush=True)
        runs = costs.measure(name, tree, directory, repeats=repeats, methods=tuning.OPTIONS)
        return {
            'save_mb_s': _mb_s(nbytes, runs['save_s']),
            'restore_mb_s': _mb_s(nbytes, runs['restore_s']),
            'save_cpu_per_s': round(sum(runs['save_cpu_s']) / sum(runs['save_s']), 2),
            'restore_cpu_per_s': round(sum(runs['restore_cpu_s']) / sum(runs['restore_s']), 2),
        }

    return measure_against_disk(megabytes, repeats, directory, options, 'options', one)


def _child(args: argparse.Namespace) -> int:
    import ckpt_widgets as cw
    cw.use_host_devices(args.devices)
    cw.quiet_logs()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix='bench-tuning-') as scratch:
        row = measure_options(args.megabytes, args.repeats, Path(scratch), args.options)
    Path(args.output).write_text(json.dumps(row))
    return 0


def shares(row: dict) -> dict[str, tuple[float, float]]:
    """Option -> (save / disk write limit, restore / disk read limit), from the medians."""
    write = row['disk']['write_fsync_mb_s']['median']
    read = row['disk']['read_mb_s']['median']
    return {name: (o['save_mb_s']['median'] / write, o['restore_mb_s']['median'] / read)
            for name, o in row['options'].items()}


def targets(rows: list[dict]) -> list[dict]:
    out = []
    for row in rows:
        for name in ('recipe', 'v1_recipe'):
            if name in row['options']:
                save, restore = shares(row)[name]
                out.append({'option': name, 'devices': row['devices'],
                            'save_share': round(save, 3), 'restore_share': round(restore, 3),
                            'met': save >= SAVE_TARGET and restore >= RESTORE_TARGET})
    return out


def markdown(result: dict) -> str:
    lines = []
    for row in result['rows']:
        d = row['disk']
        lines += [f"\n**{row['megabytes']:g} MB on {row['devices']} device(s)**, disk limits: write + "
                  f"fsync {d['write_fsync_mb_s']['median']:.0f} MB/s, read "
                  f"{d['read_mb_s']['median']:.0f} MB/s (median of {row['repeats']}, min-max "
                  f"{d['write_fsync_mb_s']['min']:.0f}-{d['write_fsync_mb_s']['max']:.0f} / "
                  f"{d['read_mb_s']['min']:.0f}-{d['read_mb_s']['max']:.0f})\n",
                  '| option | save MB/s | % of write | CPU s/s | restore MB/s | % of read | CPU s/s |',
                  '|---|---:|---:|---:|---:|---:|---:|']
        share = shares(row)
        for name, o in row['options'].items():
            s, r = o['save_mb_s'], o['restore_mb_s']
            lines.append(f"| {name} | {s['median']:.0f} ({s['min']:.0f}-{s['max']:.0f}) | "
                         f"{share[name][0]:.0%} | {o['save_cpu_per_s']} | {r['median']:.0f} "
                         f"({r['min']:.0f}-{r['max']:.0f}) | {share[name][1]:.0%} | "
                         f"{o['restore_cpu_per_s']} |")
    lines += ['\n| target | devices | save | restore | met |', '|---|---|---:|---:|---|']
    lines += [f"| {t['option']}: save >= 90 % of write, restore >= 70 % of read | {t['devices']} | "
              f"{t['save_share']:.0%} | {t['restore_share']:.0%} | {'yes' if t['met'] else 'NO'} |"
              for t in result['targets']]
    return '\n'.join(lines)


def plot(result: dict, path: Path) -> None:
    """Bars: each option's save and restore as a share of the disk's limits, per device count."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = result['rows']
    names = list(rows[0]['options'])
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.42 * len(names) + 1.6), sharey=True)
    height = 0.8 / len(rows)
    colors = ['#1f77b4', '#ff7f0e', '#2ca02c']
    titles = ("save: % of the disk's write + fsync limit", "restore: % of the disk's read limit")
    for panel, (ax, title, target) in enumerate(zip(axes, titles, (SAVE_TARGET, RESTORE_TARGET),
                                                    strict=True)):
        key, limit = (('save_mb_s', 'write_fsync_mb_s'), ('restore_mb_s', 'read_mb_s'))[panel]
        for i, row in enumerate(rows):
            share = shares(row)
            values = [100 * share[n][panel] for n in names]
            ys = [y + i * height for y in range(len(names))]
            # Whiskers: the option's fastest and slowest run against the disk's median.
            disk = row['disk'][limit]['median']
            spans = [row['options'][n][key] for n in names]
            xerr = [[max(0, v - 100 * s['min'] / disk) for v, s in zip(values, spans, strict=True)],
                    [max(0, 100 * s['max'] / disk - v) for v, s in zip(values, spans, strict=True)]]
            ax.barh(ys, values, height=height, color=colors[i % 3], xerr=xerr,
                    error_kw={'elinewidth': 0.8, 'capsize': 2},
                    label=f"{row['devices']} device(s)")
        ax.axvline(100 * target, color='#d62728', linestyle='--', linewidth=1)
        ax.axvline(100, color='#555555', linewidth=0.8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(f'% of the limit (median, whiskers min-max; dashed: target {target:.0%})')
    axes[0].set_yticks([y + height * (len(rows) - 1) / 2 for y in range(len(names))], names)
    axes[0].invert_yaxis()
    # Above the panels, where no bar can be under it.
    fig.legend(*axes[0].get_legend_handles_labels(), loc='upper right', ncol=len(rows), fontsize=8)
    m = result['machine']
    fig.suptitle(f"Orbax {m['versions']['orbax-checkpoint']}, {rows[0]['megabytes']:g} MB, "
                 f"{m['cpus']} CPUs, {m['disk'].get('fstype', '?')} disk, load average "
                 f"{m['load_average'][0]}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='50 MB, 1 repeat')
    parser.add_argument('--megabytes', type=float, default=None)
    parser.add_argument('--repeats', type=int, default=None)
    parser.add_argument('--devices', type=int, nargs='*', default=[1, 8])
    parser.add_argument('--options', nargs='*', default=list(tuning.OPTIONS),
                        choices=list(tuning.OPTIONS), metavar='OPTION')
    parser.add_argument('--dir', default=None, help='scratch directory (the disk measured)')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--output', default=None, help=argparse.SUPPRESS)
    def error(message: str):  # one line and exit 2, not argparse's usage block
        print(f'bench_tuning.py: {message}', file=sys.stderr)
        raise SystemExit(2)
    parser.error = error
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    args.megabytes = args.megabytes or (50 if args.quick else 1000)
    args.repeats = args.repeats or (1 if args.quick else 3)
    if args.child:
        args.devices = args.devices[0]
        return _child(args)
    rows = []
    for count in args.devices:  # JAX fixes the device count at start: one process each
        with tempfile.NamedTemporaryFile(suffix='.json', delete=False) as f:
            out = f.name
        try:
            cmd = [sys.executable, __file__, '--child', '--devices', str(count), '--output', out,
                   '--megabytes', str(args.megabytes), '--repeats', str(args.repeats),
                   '--options', *args.options] + (['--dir', args.dir] if args.dir else [])
            subprocess.run(cmd, check=True)
            rows.append(json.loads(Path(out).read_text()))
        finally:
            os.unlink(out)
    result = {'benchmark': 'Orbax options against the disk limits', 'quick': args.quick,
              'machine': machine_info(args.dir), 'rows': rows, 'targets': targets(rows)}
    out_dir = RESULTS / ('quick' if args.quick else '')
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / 'tuning.json').write_text(json.dumps(result, indent=2) + '\n')
    plot(result, out_dir / 'tuning.png')
    print(markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

"""How big a room one machine holds: N learners at once against a real JupyterHub (root only).

    python benchmarks/bench_classroom.py 5 10      # rooms of 5 and 10, one after the other
    python benchmarks/bench_classroom.py 20        # later, alone: adds to the same results

Each room: `classroom.start.open_room` (accounts clbench01.., a fresh state folder), then every
learner at once through `classroom.loadtest` (login, spawn, open 11, put 12's solutions in,
run every cell over the kernel websocket), memory sampled every 0.5 s. Results per N are kept
in benchmarks/results/classroom.json (a run replaces only the sizes it ran) with the machine's
load average before and after, and the table in benchmarks/results/classroom.md. The sizing
(`recommended`) that classroom/z2jh/config.yaml must match (tests/classroom/test_z2jh.py) is
derived here from the measurements, never typed in.
"""

import asyncio
import json
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classroom import accounts, loadtest, start  # noqa: E402 -- after the repository is on sys.path

RESULTS = ROOT / 'benchmarks' / 'results'
P95_TARGET_S = 10.0
MIB = 1 << 20


def p95(values):
    """Nearest-rank 95th percentile.

    >>> p95(list(range(1, 21)))
    19
    """
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def run_room(n, port):
    state = Path(tempfile.mkdtemp(prefix='ckpt-classroom-bench-'))
    os.chmod(state, 0o711)
    args = start.parse_args(['--learners', str(n), '--port', str(port), '--prefix', 'clbench',
                             '--instructor', 'clbenchinst', '--state', str(state)])
    load_before = os.getloadavg()
    t0 = time.monotonic()
    try:
        with start.open_room(args) as room:
            hub_up = time.monotonic() - t0
            report = asyncio.run(loadtest.measure(room, timeout=1800))
    finally:  # the benchmark's accounts and state go with it
        for name in [args.instructor, *accounts.learner_names(n, args.prefix)]:
            accounts.remove_account(name)
        shutil.rmtree(state, ignore_errors=True)
    return summarize(report, hub_up, load_before, os.getloadavg())


def summarize(report, hub_up, load_before, load_after):
    results = report['results']
    cells = [t for r in results for t in r['cell_times']]
    logins = [r['login_to_running'] for r in results if not r['error'] or r['login_to_running']]
    learner = list(report['peak_learner_bytes'].values())
    kernel = list(report['peak_kernel_bytes'].values())
    return {
        'learners': report['learners'],
        'all_checks_passed': sum(r['all_passed'] for r in results),
        'kernels_died': sum(r['kernel_died'] for r in results),
        'errors': sorted({r['error'] for r in results if r['error']}),
        'hub_start_s': round(hub_up, 1),
        'wall_s': round(report['wall_s'], 1),
        'login_to_running_s': {'p50': round(statistics.median(logins), 1),
                               'max': round(max(logins), 1)} if logins else None,
        'check_cell_s': {'p50': round(statistics.median(cells), 2), 'p95': round(p95(cells), 2),
                         'max': round(max(cells), 2), 'count': len(cells)} if cells else None,
        'peak_kernel_mib': {'mean': round(statistics.mean(kernel) / MIB),
                            'max': round(max(kernel) / MIB)} if kernel else None,
        'peak_learner_mib': {'mean': round(statistics.mean(learner) / MIB),
                             'max': round(max(learner) / MIB)} if learner else None,
        'peak_hub_only_mib': round(report['peak_hub_bytes'] / MIB),
        'peak_total_mib': round(report['peak_total_bytes'] / MIB),
        'load_average_before': [round(x, 2) for x in load_before],
        'load_average_after': [round(x, 2) for x in load_after],
    }


def meets_targets(row):
    return (row['all_checks_passed'] == row['learners'] and not row['kernels_died']
            and row['check_cell_s'] and row['check_cell_s']['p95'] < P95_TARGET_S)


def recommend(rows, machine_mib, cpus):
    """Sizing from the measurements: per-learner memory guarantee (largest learner's peak,
    rounded up to 128 MiB), limit (2x: room for a second notebook's kernel), CPU guarantee
    (the machine's cores shared by the largest room that met the targets), and the largest
    room one such machine holds (memory bound and CPU bound, the smaller)."""
    peak = max(r['peak_learner_mib']['max'] for r in rows if r['peak_learner_mib'])
    hub = max(r['peak_hub_only_mib'] for r in rows)
    guarantee = math.ceil(peak / 128) * 128
    ok = [r['learners'] for r in rows if meets_targets(r)]
    cpu_room = max(ok) if ok else 0
    memory_room = int((machine_mib * 0.9 - hub) // guarantee)
    return {
        'memory_guarantee': f'{guarantee}M',
        'memory_limit': f'{2 * guarantee}M',
        'cpu_guarantee': math.floor(cpus / cpu_room * 20) / 20 if cpu_room else None,
        'cpu_limit': 1.0,
        'largest_room_memory_bound': memory_room,
        'largest_room_cpu_bound_measured': cpu_room,
        'largest_room': min(memory_room, cpu_room) if cpu_room else 0,
    }


def markdown(data):
    rows = sorted(data['rooms'].values(), key=lambda r: r['learners'])
    rec = data['recommended']
    lines = [
        '# Classroom: N learners at once on one machine',
        '',
        (f"Produced by `python benchmarks/bench_classroom.py` on {data['machine']} "
         f"({data['cpus']} CPUs, {data['memory_mib'] // 1024} GiB). Each learner logs in, "
         'starts a server, opens 11_workshop_exercises, puts the solutions of 12 in and runs '
         'every cell over the kernel websocket, all learners at once. The machine was shared '
         'with other work: the load average before/after each room is in the table (above the '
         'CPU count means others competed for the cores).'),
        '',
        ('| learners | all 5 ✓ | kernels died | login → running server p50 / max | check cell '
         'p50 / p95 / max | peak per kernel mean / max | peak per learner (server + kernel) '
         'max | hub + proxy + culler | whole room peak | load before → after |'),
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    for r in rows:
        lg, c, k, le = (r['login_to_running_s'], r['check_cell_s'], r['peak_kernel_mib'],
                        r['peak_learner_mib'])
        lines.append(
            f"| {r['learners']} | {r['all_checks_passed']}/{r['learners']} | {r['kernels_died']} "
            f"| {lg['p50']} s / {lg['max']} s | {c['p50']} s / {c['p95']} s / {c['max']} s "
            f"| {k['mean']} / {k['max']} MiB | {le['max']} MiB | {r['peak_hub_only_mib']} MiB "
            f"| {r['peak_total_mib']} MiB | {r['load_average_before'][0]} → "
            f"{r['load_average_after'][0]} |")
    lines += [
        '',
        (f"Target: every learner all ✓ and p95 of a check cell under {P95_TARGET_S:.0f} s. "
         f"Largest room measured that met it: {rec['largest_room_cpu_bound_measured']}; memory "
         f"alone would allow {rec['largest_room_memory_bound']} (90% of RAM / "
         f"{rec['memory_guarantee']} per learner). Sizing for classroom/z2jh/config.yaml: "
         f"memory guarantee {rec['memory_guarantee']}, limit {rec['memory_limit']}, CPU "
         f"guarantee {rec['cpu_guarantee']}, limit {rec['cpu_limit']}."),
    ]
    return '\n'.join(lines) + '\n'


def main(argv):
    if not all(a.isdigit() and 0 < int(a) <= start.MAX_LEARNERS for a in argv):
        print(f'bench_classroom: room sizes are whole numbers 1..{start.MAX_LEARNERS}, '
              f'got {argv}', file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print('bench_classroom: must run as root (the room creates Unix accounts)',
              file=sys.stderr)
        return 2
    sizes = [int(a) for a in argv] or [5, 10, 20]
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C stops the room
    out = RESULTS / 'classroom.json'
    data = json.loads(out.read_text()) if out.exists() else {'rooms': {}}
    for n in sizes:
        row = run_room(n, start.free_port())
        print(json.dumps(row), flush=True)
        data['rooms'][str(n)] = row
    import psutil

    data['machine'] = time.strftime('%Y-%m-%d', time.gmtime())
    data['cpus'] = os.cpu_count()
    data['memory_mib'] = psutil.virtual_memory().total // MIB
    data['recommended'] = recommend(list(data['rooms'].values()), data['memory_mib'],
                                    data['cpus'])
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + '\n')
    (RESULTS / 'classroom.md').write_text(markdown(data))
    print(markdown(data))


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

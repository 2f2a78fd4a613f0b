"""Twenty SIGKILLs at random points of an async save loop: no finished step lost."""

import logging
import os
import random
import signal
import time
from concurrent import futures

import pytest

from ckpt_widgets.lab.failures import crashes

logging.getLogger('absl').setLevel(logging.ERROR)

KILLS = 20
SEED = 20261129
# Seconds after the first save() returned; ~10-30 ms per step here, so the
# kills land anywhere from the first commit to a few dozen steps in.
MAX_DELAY_S = 0.6
SIZE = 1 << 12  # small: 20 children must fit in well under two minutes


def test_twenty_random_kills_lose_no_finished_step(tmp_path):
    rng = random.Random(SEED)
    delays = [rng.uniform(0.0, MAX_DELAY_S) for _ in range(KILLS)]
    t0 = time.perf_counter()
    # Two children at a time: their imports dominate and a busy machine shares
    # CPU per process, so this halves the wall time on 2 cores, idle or not.
    with futures.ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(
            lambda i: crashes.crash_after_delay(
                tmp_path / f'run{i}', delay_s=delays[i], size=SIZE),
            range(KILLS)))
    verified = lost = corrupted = unfinished = 0
    for r in reports:
        assert r.child_returncode == -signal.SIGKILL, r
        # Every step the child saw committed is still there and bit-exact, and
        # so is any step finalized between the last report and the kill.
        assert set(r.committed_steps) <= set(r.verified_steps), r
        assert r.verified_steps == r.finalized_steps, r
        assert r.latest_step == (r.finalized_steps[-1] if r.finalized_steps else None)
        # Only the step in flight can be unfinished.
        assert len(r.tmp_dirs_after_kill) <= 1, r
        verified += len(r.verified_steps)
        lost += len(r.lost_steps)
        corrupted += len(r.corrupted_steps)
        unfinished += len(r.tmp_dirs_after_kill)
    elapsed = time.perf_counter() - t0
    print(
        f'\ncrash stress: {KILLS} kills, {verified} finished steps verified,'
        f' {lost} lost, {corrupted} corrupted; {unfinished} unfinished tmp dirs'
        f' left; {elapsed:.1f} s'
    )
    assert (lost, corrupted) == (0, 0)
    # The test means something only if most kills hit a save in flight
    # (16-18 of 20 measured; a kill between two saves leaves no tmp dir).
    assert unfinished >= KILLS // 2, unfinished
    with pytest.raises(ChildProcessError):  # every child was reaped
        os.waitpid(-1, os.WNOHANG)

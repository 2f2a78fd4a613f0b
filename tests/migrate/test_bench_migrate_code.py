"""The migrate-code benchmark cannot rot: its tree has the sizes it claims and every call is rewritten."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'benchmarks'))
import bench_migrate_code  # noqa: E402


def test_generated_tree_has_the_lines_and_calls_it_claims(tmp_path):
    lines, calls = bench_migrate_code.make_tree(tmp_path, 2_000, 20, files=10)
    assert 2_000 <= lines < 2_300 and calls == 20
    text = ''.join(p.read_text() for p in tmp_path.iterdir())
    assert text.count('checkpoints.save_checkpoint(') + text.count('checkpoints.restore_checkpoint(') == 20
    assert text.count('def save_checkpoint(self') > 0  # a project's own name, never touched


def test_quick_run_rewrites_every_call():
    result = bench_migrate_code.run(lines=1_000, calls=10, repeats=1)
    assert result['legacy_calls'] == result['rewritten'] == 10
    assert result['command_s']['median'] > 0 and result['command_cpu_s']['median'] > 0

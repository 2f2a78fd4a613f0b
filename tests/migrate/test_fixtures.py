"""Every rule and real-world pattern of migrate-code as a before/after fixture pair.

- the rewrite of `<name>.before.py` is exactly `<name>.after.py`, and rewriting that again
  changes nothing (idempotence);
- every TODO line in the result is a reason the report counts as flagged, and back;
- lines the rewrite has no business with are kept byte for byte (imports and edited
  statements aside, every line of the before file is still there, in order);
- "runnable" fixtures are executed before and after the rewrite in fresh folders: both leave
  the same names on disk, keep the same steps and restore the same trees (`proof`).
"""

import difflib
import re
from pathlib import Path

import pytest

from ckpt_widgets.migrate.code import FLAGGED, REWRITTEN, migrate_source, proof
from ckpt_widgets.migrate.code.report import TODO_TAG

FIXTURES = Path(__file__).parent / 'fixtures'
PAIRS = sorted(p.name[:-len('.before.py')] for p in FIXTURES.glob('*.before.py'))
RUNNABLE = [n for n in PAIRS if (FIXTURES / f'{n}.before.py').read_text().startswith('# runnable')]


def _before(name):
    return (FIXTURES / f'{name}.before.py').read_text()


def _after(name):
    return (FIXTURES / f'{name}.after.py').read_text()


def test_every_rule_and_pattern_has_a_pair():
    expected = {'save_positional', 'save_keywords', 'save_keep_every_n_steps', 'save_overwrite',
                'save_async', 'save_multiprocess', 'restore_target', 'restore_none',
                'latest_checkpoint', 'orbax_utils_args', 'orbax_utils_mesh'}
    assert expected <= set(PAIRS)
    assert all((FIXTURES / f'{n}.after.py').exists() for n in PAIRS)
    # every rule family has at least one executed pair
    assert {'save_positional', 'save_keep_every_n_steps', 'save_overwrite', 'save_async',
            'save_multiprocess', 'restore_target', 'restore_none', 'latest_checkpoint',
            'orbax_utils_args'} <= set(RUNNABLE)


@pytest.mark.parametrize('name', PAIRS)
def test_rewrite_is_the_after_file_and_idempotent(name):
    new, _ = migrate_source(_before(name), f'{name}.before.py')
    assert new == _after(name)
    again, second = migrate_source(new, f'{name}.after.py')
    assert again == new
    assert not [f for f in second if f.outcome == REWRITTEN]


@pytest.mark.parametrize('name', PAIRS)
def test_todo_lines_are_the_flagged_findings(name):
    new, findings = migrate_source(_before(name), name)
    todos = {line.strip()[len(TODO_TAG):] for line in new.splitlines()
             if line.strip().startswith(TODO_TAG)}
    assert todos == {f.detail for f in findings if f.outcome == FLAGGED}


_LEGACY = re.compile(r'checkpoints|orbax_utils|save_checkpoint|restore_checkpoint|AsyncManager'
                     r'|async_manager|ckpt\.|flax_use_orbax|^\s*(keep|prefix)')


@pytest.mark.parametrize('name', PAIRS)
def test_other_lines_are_kept_byte_for_byte(name):
    before, after = _before(name).splitlines(), _after(name).splitlines()
    removed = [line for tag, line in _line_diff(before, after) if tag == '-']
    # A removed legacy import takes the blank line that separated its group with it.
    assert [line for line in removed if line and not _LEGACY.search(line)] == []


def _line_diff(a, b):
    for line in difflib.ndiff(a, b):
        if line[:1] in '-+':
            yield line[0], line[2:]


def test_names_that_merely_match_are_never_touched():
    source = _before('pattern_same_name')
    new, findings = migrate_source(source, 'same.py')
    assert new == source and findings == []


@pytest.mark.parametrize('name', RUNNABLE)
def test_executed_pair_leaves_and_restores_the_same(name, tmp_path):
    source = _before(name)
    before = proof.run_source(source, tmp_path / 'legacy', filename=f'{name}.before.py',
                              msgpack=source.startswith('# runnable (msgpack)'))
    after = proof.run_source(_after(name), tmp_path / 'migrated', filename=f'{name}.after.py')
    assert proof.differences(before, after) == []
    assert before.listing['.'], 'the legacy run wrote nothing: the pair proves nothing'


_UNRELATED = '''

class Block{n}:
    """Nothing to do with checkpoints."""  # kept byte for byte

    def save_state(self, step):
        return {{'step': step}}
'''


@pytest.mark.parametrize('name', ['save_async', 'pattern_runtime_prefix', 'pattern_pmap_gate',
                                  'latest_checkpoint'])
def test_unrelated_blocks_read_by_ast_only_change_nothing(name):
    # prefilter replaces blocks that mention nothing legacy by placeholders while libcst works;
    # the result must be what reading the whole module gives, with the same report lines.
    from ckpt_widgets.migrate.code import rewrite
    source = _before(name) + ''.join(_UNRELATED.format(n=n) for n in range(3))
    fast, fast_findings = migrate_source(source, name)
    slow, slow_findings = rewrite._migrate(source, name, set())
    assert fast == slow
    assert fast_findings == slow_findings
    assert _UNRELATED.format(n=2) in fast


def test_a_kept_block_above_a_removed_import_survives():
    source = 'X = 1  # above the legacy import\n' + _before('save_async')
    new, _ = migrate_source(source, 'x.py')
    assert new.startswith('X = 1  # above the legacy import\n# runnable: AsyncManager')
    assert 'mngr.save(step' in new
    compile(new, 'x.py', 'exec')

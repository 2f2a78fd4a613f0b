"""RetainedSteps: which steps exist, which were deleted, which are unfinished, and why."""

import orbax.checkpoint as ocp
import pytest

import ckpt_widgets as cw
from ckpt_widgets.runtime import flax_msgpack_writer
from ckpt_widgets.steps import describe_policy, explain_steps, policy_from_options
from tests.helpers import TOY

P = ocp.checkpoint_managers


def test_manager_steps_with_reasons_from_orbax_policy(tmp_path):
    policy = P.AnyPreservationPolicy([P.LatestN(3), P.EveryNSteps(2)])
    with ocp.CheckpointManager(tmp_path, options=ocp.CheckpointManagerOptions(
            preservation_policy=policy)) as mngr:
        view = cw.RetainedSteps(mngr)
        for step in range(5):
            mngr.save(step, args=ocp.args.PyTreeSave(TOY))
            mngr.wait_until_finished()
            view.refresh()
    assert view.kept == (0, 2, 3, 4)
    assert view.deleted == (1,)
    assert view.text.splitlines() == [
        f'{tmp_path.name}: orbax-manager, policy: latest 3 or every 2 steps',
        'step  status      why',
        '   0  kept        every 2 steps',
        '   1  deleted',
        '   2  kept        every 2 steps; latest 3',
        '   3  kept        latest 3',
        '   4  kept        every 2 steps; latest 3',
        'kept: [0, 2, 3, 4]  deleted: [1]',
    ]


def test_deprecated_options_explain_like_orbax_builds_them():
    opts = ocp.CheckpointManagerOptions(max_to_keep=3, keep_period=2)
    assert describe_policy(policy_from_options(opts)) == 'every 2 steps or latest 3'
    assert explain_steps(policy_from_options(opts), [0, 2, 3, 4]) == {
        0: 'every 2 steps', 2: 'every 2 steps; latest 3', 3: 'latest 3', 4: 'every 2 steps; latest 3'}


def test_policy_with_its_own_explanation_is_used():
    class Odd:
        def explain(self, steps):
            return {s: 'odd' for s in steps if s % 2}
    assert explain_steps(Odd(), [1, 2, 3]) == {1: 'odd', 3: 'odd'}


def test_step_prefix_and_flax_prefix(tmp_path):
    with ocp.CheckpointManager(tmp_path / 'orbax', options=ocp.CheckpointManagerOptions(
            step_prefix='test_')) as mngr:
        mngr.save(4, args=ocp.args.PyTreeSave(TOY))
    view = cw.RetainedSteps(mngr)
    assert view.kept == (4,)
    assert view.model.steps[0].name == 'test__4'
    from flax.training import checkpoints
    with flax_msgpack_writer(True, hide_deprecation=True):
        for step in (1, 2):
            checkpoints.save_checkpoint(tmp_path / 'flax', TOY, step=step, prefix='test_', keep=5)
            checkpoints.save_checkpoint(tmp_path / 'flax', TOY, step=step + 10, prefix='other_')
    flax_view = cw.RetainedSteps(tmp_path / 'flax', prefix='test_')
    assert flax_view.kept == (1, 2)
    assert flax_view.model.layout == 'flax-msgpack'


def test_unfinished_and_layouts(written, tmp_path):
    (tmp_path / '1').mkdir()
    (tmp_path / '2.orbax-checkpoint-tmp-17').mkdir()
    view = cw.RetainedSteps(tmp_path)
    assert view.kept == (1,) and view.unfinished == (2,)
    assert '   2  unfinished  save not committed' in view.text
    assert cw.RetainedSteps(written / 'flax_orbax').model.layout == 'flax-orbax'
    assert cw.RetainedSteps(written / 'v1').model.layout == 'orbax-v1'
    assert cw.RetainedSteps(written / 'orbax').model.layout == 'orbax-manager'


def test_damaged_step_from_diagnose(tmp_path):
    for step in (1, 2):
        (tmp_path / str(step)).mkdir()
    view = cw.RetainedSteps(tmp_path, diagnose=lambda p: 'missing _METADATA' if p.name == '2' else None)
    assert view.kept == (1,)
    assert view.damaged == (2,)
    assert '   2  damaged     missing _METADATA' in view.text


@pytest.mark.parametrize('make, problem', [
    (lambda p: p / 'missing', 'does not exist'),
    (lambda p: (p / 'f').write_text('x') and p / 'f', 'is a file, not a directory'),
])
def test_bad_paths(tmp_path, make, problem):
    view = cw.RetainedSteps(make(tmp_path))
    assert view.text.endswith(problem)
    assert view.kept == ()


def test_html_boxes_carry_status_and_reason(written):
    html = cw.RetainedSteps(written / 'orbax').html
    assert 'title="step 5: kept' in html
    assert html.count('<span title="step') == 5

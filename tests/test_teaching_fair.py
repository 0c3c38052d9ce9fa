"""``mlp grade`` is fair to correct code written differently from the reference solution: each
``correct_*`` fixture of tests/fixtures/submissions (the softmax probabilities first, a
log-sum-exp by ``np.logaddexp.reduce``, loops over the examples, a one-hot gradient, einsum and
a tanh sigmoid) scores 45 / 45 whatever the hidden cases drawn from the grader's secret."""

import shutil

import pytest
from teaching_submissions import build_class, submission_sources

from mlp.teaching.grader import Grader, grade_class
from mlp.teaching.report import text_report

CORRECT = sorted(name for name in submission_sources() if name.startswith("correct_"))
#: Two secrets: two different draws of the hidden cases.
SECRETS = (1, 20240917)

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="the grader's jail needs bubblewrap (bwrap)")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return build_class(tmp_path_factory.mktemp("fair"), names=CORRECT)


@pytest.fixture(scope="module", params=SECRETS, ids=lambda s: f"secret={s}")
def graded(request, folder):
    """Every correct variant graded as one class, two at a time, under one secret."""
    with Grader(secret=request.param) as grader:
        results = grade_class(grader, folder, workers=2)
    return {r.name: r for r in results}


def test_there_are_at_least_four_correct_variants():
    assert len(CORRECT) >= 4, CORRECT


@pytest.mark.parametrize("name", CORRECT)
def test_a_correct_variant_scores_45(graded, name):
    result = graded[name]
    lost = [f"{q.label} {i.name}: {c.label}: {c.problem or c.found}"
            + (f" (its output ends: {q.output[-300:]!r})" if c.problem else "")
            for q in result.questions for i in q.items for c in i.cases if c.credit < 1]
    assert result.problem is None, result.problem
    assert result.jailed
    assert result.max_score == 45
    assert result.score == 45, lost
    assert not any(c.problem for q in result.questions for i in q.items for c in i.cases)
    assert "hint:" not in text_report(result)

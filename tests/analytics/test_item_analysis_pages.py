"""The analytics page: histograms as accessible SVG, reliability with its interval and N, the A6 item
analysis with its flags in plain words and links to the scenarios, small-sample labels, tenant isolation."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sqlalchemy import select

import scoring
from analytics import charts, item_stats
from assessments.models import Answer, Assessment, AttemptResult
from database import db
from tests.analytics.test_norms import Built, build_completed_attempts, signed_in


def page_url(assessment_id: str, scope: str | None = None) -> str:
    return f"/analytics/assessments/{assessment_id}" + (f"?scope={scope}" if scope else "")


def stored_scores(app, assessment_id: str) -> tuple[list[float], np.ndarray, list[int]]:
    """Overall POMPs and the attempts x items POMP matrix, read straight from the stored results."""
    with app.app_context():
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == assessment_id)).one()
        version_ids = [item.version.id for item in assessment.items]
        rows = db.session.execute(
            select(AttemptResult.overall_pomp, AttemptResult.detail).order_by(AttemptResult.attempt_id)
        ).all()
    matrix = np.array(
        [[next(i["pomp"] for i in detail["items"] if i["version_id"] == v) for v in version_ids] for _, detail in rows]
    )
    return [overall for overall, _ in rows], matrix, version_ids


def two(value: float) -> str:
    return f"{scoring.round_half_up(value, 2):.2f}"


@pytest.fixture
def forty(app, tenant_a) -> Built:
    return build_completed_attempts(app, tenant_a, 40)


def test_the_page_shows_histograms_reliability_and_the_item_table(app, tenant_a, forty):
    client = signed_in(app, tenant_a)
    response = client.get(page_url(forty.assessment_id))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "score version <strong>1.0.0</strong> (as scored at submission)" in body

    # Three accessible charts: overall, professionalism, collaboration.
    assert body.count('role="img"') == 3
    assert '<title id="chart-0-title">Overall: distribution of scores</title>' in body
    assert 'aria-labelledby="chart-0-title chart-0-desc"' in body
    overall, matrix, _ = stored_scores(app, forty.assessment_id)
    summary = charts.summarize([100 * p for p in overall]).text()
    assert summary.startswith("N = 40, mean ")
    assert summary in body  # in the figure caption and the chart's description
    assert body.count(summary) >= 2

    # Reliability: scoring's own alpha and Feldt interval on the stored item scores.
    alpha = scoring.alpha_with_interval(matrix)
    assert re.search(
        rf"<th scope=\"row\">Overall</th>\s*<td>5</td>\s*<td>{two(alpha.alpha)}</td>\s*"
        rf"<td>{two(alpha.lower)} to {two(alpha.upper)}</td>\s*<td>40</td>",
        body,
    )
    assert "not yet established (N = 40; an interval needs 100)" in body

    # The item table: sample label, flags in plain words, and working links to every scenario.
    assert "N = 40: too few to judge." in body
    assert item_stats.FLAG_WORDS[scoring.ItemFlag.NON_FUNCTIONING_DISTRACTOR] in body
    assert item_stats.FLAG_WORDS[scoring.ItemFlag.FAST_RESPONSES] in body
    assert "<caption>Item statistics for Overall, N = 40" in body
    assert '<div class="table-scroll" role="region" aria-label="Item statistics" tabindex="0">' in body
    single_best = forty.scenarios["AN-single_best"]
    assert f'<a href="/scenarios/{single_best}?version=1">Review AN-single_best v1</a>' in body
    links = set(re.findall(r'href="(/scenarios/[^"?]+\?version=\d+)"', body))
    assert len(links) == 5
    for link in links:
        assert client.get(link).status_code == 200, link


def test_the_item_numbers_are_scorings_own_on_the_same_data(app, tenant_a, forty):
    _, matrix, version_ids = stored_scores(app, forty.assessment_id)
    with app.app_context():
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == forty.assessment_id)).one()
        attempts = item_stats.completed_attempts(assessment, item_stats.current_score_version(assessment))
        [overall] = [s for s in item_stats.score_scopes(assessment) if s.code == "overall"]
        view = item_stats.item_analysis(assessment, attempts, overall)
        choices = list(
            db.session.scalars(
                select(Answer.answer).where(
                    Answer.version_id == version_ids[1], Answer.attempt_id.in_([a.id for a in attempts])
                )
            )
        )
    assert view.problem is None and view.n == 40 and view.n_excluded == 0
    assert view.sample_status is scoring.ItemSampleStatus.BELOW_MINIMUM
    assert view.alpha == pytest.approx(scoring.cronbach_alpha(matrix), abs=1e-12)
    total = matrix.sum(axis=1)
    for column, row in enumerate(view.rows):
        assert row.version.id == version_ids[column]
        assert row.stats.mean == pytest.approx(matrix[:, column].mean(), abs=1e-12)
        rest = total - matrix[:, column]
        assert row.stats.corrected_item_total_r == pytest.approx(scoring.pearson_r(matrix[:, column], rest), abs=1e-12)
        assert row.stats.alpha_if_deleted == pytest.approx(
            scoring.cronbach_alpha(np.delete(matrix, column, axis=1)), abs=1e-12
        )
    # Option endorsement of the single-best item (the second column): the share of saved choices.
    single_best = view.rows[1]
    assert single_best.stats.response_format is scoring.ResponseFormat.SINGLE_BEST
    share_a = sum(1 for c in choices if c["choice"] == "A") / len(choices)
    assert single_best.stats.option("A", "best").endorsement == pytest.approx(share_a)
    assert single_best.stats.option("B", "best").endorsement == 0.0
    assert single_best.stats.median_seconds == 3.0


def test_small_samples_are_labelled_with_their_n(app, tenant_a):
    built = build_completed_attempts(app, tenant_a, 12)
    body = signed_in(app, tenant_a).get(page_url(built.assessment_id)).get_data(as_text=True)
    assert "N = 12: too few to judge." in body
    assert "not yet established (N = 12; an interval needs 100)" in body
    assert "N = 12, mean " in body
    assert "<caption>Item statistics for Overall, N = 12" in body


def test_the_page_works_before_anyone_has_finished(app, tenant_a):
    client = signed_in(app, tenant_a)
    body = client.get(page_url(tenant_a.assessment_id)).get_data(as_text=True)
    assert "No completed attempts yet" in body
    assert "N = 0: no scores yet" in body
    assert "The item analysis needs at least 2 items in this scope." in body
    assert "needs at least 2 items" in body  # reliability of a one-item form


def test_the_item_analysis_of_one_competency(app, tenant_a, forty):
    client = signed_in(app, tenant_a)
    body = client.get(page_url(forty.assessment_id, "collaboration")).get_data(as_text=True)
    assert "Item analysis: Collaboration" in body
    assert '<option value="collaboration" selected>' in body
    assert "<caption>Item statistics for Collaboration, N = 40" in body
    table = body[body.index("<caption>Item statistics") : body.index("<caption>Option endorsement")]
    assert "Alpha-SJT" not in table  # the tenant's own item counts for professionalism, not collaboration
    assert table.count('<th scope="row">') == 4
    unknown = client.get(page_url(forty.assessment_id, "no-such-scope")).get_data(as_text=True)
    assert "Item analysis: Overall" in unknown


def test_another_agency_gets_404(app, tenant_a, tenant_b, forty):
    client = signed_in(app, tenant_b)
    assert client.get(page_url(forty.assessment_id)).status_code == 404
    assert client.get(page_url(tenant_b.assessment_id)).status_code == 200


def test_the_assessment_page_links_to_analytics_and_norm_groups(app, tenant_a):
    body = signed_in(app, tenant_a).get(f"/assessments/{tenant_a.assessment_id}").get_data(as_text=True)
    assert f'href="/analytics/assessments/{tenant_a.assessment_id}"' in body
    assert f'href="/analytics/assessments/{tenant_a.assessment_id}/norms"' in body


# --- Units -------------------------------------------------------------------------------------------


def test_every_item_flag_has_plain_words():
    assert set(item_stats.FLAG_WORDS) == set(scoring.ItemFlag)


def test_sample_labels_follow_a6_thresholds():
    scope = item_stats.ScoreScope("overall", "Overall", ())
    label = item_stats.ItemAnalysisView(scope, 150, 0, None, scoring.ItemSampleStatus.PROVISIONAL, ()).sample_label
    assert label.startswith("N = 150: provisional flags")
    decided = item_stats.ItemAnalysisView(
        scope, 250, 0, None, scoring.ItemSampleStatus.SUFFICIENT_FOR_DECISIONS, ()
    ).sample_label
    assert decided == "N = 250: enough for decisions about items."


def test_histogram_bins_and_summary():
    chart = charts.histogram([0.0, 9.99, 10.0, 55.5, 100.0, 100.0])
    assert [b.count for b in chart.bins] == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert chart.bins[0].label == "0 to under 10" and chart.bins[-1].label == "90 to 100"
    assert chart.summary.n == 6 and chart.summary.minimum == 0.0 and chart.summary.maximum == 100.0
    assert chart.summary.sd == pytest.approx(scoring.sample_sd([0.0, 9.99, 10.0, 55.5, 100.0, 100.0]))
    assert (
        charts.summarize([42.0]).text() == "N = 1, mean 42.0, SD not defined for one score, lowest 42.0, highest 42.0"
    )
    with pytest.raises(ValueError, match="0-100"):
        charts.histogram([101.0])


def test_the_svg_escapes_its_text():
    svg = charts.histogram_svg(charts.histogram([50.0]), chart_id="c", title='<script>"x"</script>')
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert svg.startswith("<svg") and svg.endswith("</svg>")

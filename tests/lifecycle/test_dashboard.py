"""The lifecycle dashboard: the funnel, the flows and the win-backs, each number linked to
the customer list that it counts, over the customers the viewer may see."""

import datetime as dt

import pytest
from django.urls import reverse

from customers import summaries
from customers.models import PipelineRun, SectionSummary
from customers.pipeline import pipeline_run
from lifecycle import selectors
from tests.factories import OrderFactory
from tests.retention.factories import orders_every


@pytest.fixture
def moved(cast):
    """First run 2026-06-30: rep's customer grows, teammate's is lost, outsider's is new.
    Second run 2026-07-05: the teammate's customer ordered again (won back)."""
    orders_every(cast.rep_customer, first=dt.date(2025, 1, 5), last=dt.date(2026, 6, 5), days=30)
    orders_every(
        cast.teammate_customer, first=dt.date(2024, 9, 1), last=dt.date(2025, 9, 1), days=14
    )
    OrderFactory(customer=cast.outsider_customer, order_date=dt.date(2026, 5, 10))
    pipeline_run(as_of=dt.date(2026, 6, 30))
    OrderFactory(customer=cast.teammate_customer, order_date=dt.date(2026, 7, 3))
    pipeline_run(as_of=dt.date(2026, 7, 5))
    return cast


def funnel(section):
    return {row["stage"]: row["customers"] for row in section["funnel"] if row["customers"]}


def flow(section, days, old, new):
    matrix = next(m for m in section["matrices"] if m["days"] == days)
    row = next(r for r in matrix["rows"] if r["stage"] == old)
    return next(c["count"] for c in row["cells"] if c["to"] == new)


@pytest.mark.parametrize(
    ("who", "expected_funnel", "win_backs"),
    [
        ("admin", {"growth": 1, "development": 2}, 1),
        ("manager", {"growth": 1, "development": 1}, 1),
        ("rep", {"growth": 1}, 0),
        ("outsider", {"development": 1}, 0),
    ],
)
def test_the_section_counts_over_the_visible_customers(moved, who, expected_funnel, win_backs):
    section = selectors.stage_section(getattr(moved, who))
    assert funnel(section) == expected_funnel
    assert flow(section, 30, "termination", "development") == win_backs
    assert flow(section, 90, "termination", "development") == win_backs
    # First stages are no move.
    assert (
        sum(cell["count"] for m in section["matrices"] for r in m["rows"] for cell in r["cells"])
        == 2 * win_backs
    )
    assert [(row["month"], row["count"]) for row in section["win_backs"]] == (
        [(dt.date(2026, 7, 1), 1)] if win_backs else []
    )


def test_the_figures_take_four_queries_and_are_stored_with_the_run(
    moved, django_assert_num_queries
):
    run = PipelineRun.objects.current()
    stored = SectionSummary.objects.get(run=run, scope="company", scope_id=0)
    assert stored.figures["dashboard:lifecycle"]["funnel"] == {"growth": 1, "development": 2}
    scope = summaries.viewer_scope(moved.manager)
    # customers per stage, moves in the widest window, win-backs by month, kept snapshots.
    with django_assert_num_queries(4):
        selectors.build_stages(scope, run)
    # Shown from the figures: no query.
    with django_assert_num_queries(0):
        selectors.show_stages(stored.figures["dashboard:lifecycle"], moved.admin, run)


def test_stage_counts_over_the_kept_snapshots(moved, client_for):
    """One row per kept run, newest first; the current run's numbers link to the list."""
    section = selectors.stage_section(moved.admin)
    trend = [
        (row["as_of"], {c["stage"]: c["customers"] for c in row["counts"] if c["customers"]})
        for row in section["trend"]
    ]
    assert trend == [
        (dt.date(2026, 7, 5), {"growth": 1, "development": 2}),
        (dt.date(2026, 6, 30), {"growth": 1, "development": 1, "termination": 1}),
    ]
    assert [row["current"] for row in section["trend"]] == [True, False]
    # A rep's rows count their own customers only.
    rep = selectors.stage_section(moved.rep)
    assert [sum(c["customers"] for c in row["counts"]) for row in rep["trend"]] == [1, 1]
    content = client_for(moved.admin).get(reverse("dashboard")).content.decode()
    trend_table = content[content.index('id="stage-trend"') :]
    trend_table = trend_table[: trend_table.index("</table>")]
    assert trend_table.count("?stage=") == 2  # growth and development as of 2026-07-05
    assert 'data-as-of="2026-06-30" data-stage="termination">1<' in trend_table


def test_every_number_links_to_the_list_it_counts(moved, client_for):
    client = client_for(moved.manager)
    content = client.get(reverse("dashboard")).content.decode()
    assert 'id="dashboard-lifecycle"' in content
    for query, expected in [
        ("stage=development", ["杭州联华超市"]),
        ("moved=termination-development-30", ["杭州联华超市"]),
        ("moved=development-growth-90", []),
        ("won_back=2026-07", ["杭州联华超市"]),
        ("won_back=2026-06", []),
    ]:
        assert f"?{query}" in content or not expected
        response = client.get(reverse("customer-list") + "?" + query)
        names = [c.name for c in response.context["page"].object_list]
        assert names == expected, query


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("moved=growth-dormant-30", "Give two stages and 30 or 90 days"),
        ("moved=growth-termination-45", "Give two stages and 30 or 90 days"),
        ("won_back=2026-13", "Give the month as YYYY-MM"),
    ],
)
def test_bad_list_links_are_refused_with_a_message(moved, client_for, query, message):
    response = client_for(moved.manager).get(reverse("customer-list") + "?" + query)
    assert response.status_code == 200
    assert message in response.content.decode()

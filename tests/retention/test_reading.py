"""What the step reads as of a date: complaints open then, grades and their falls."""

import datetime as dt

import pandas as pd
from django.utils import timezone

from customers.models import GradeChange
from retention import calendar, reading
from tests.factories import ComplaintFactory, InvoiceFactory, OrderFactory

D = dt.date


def moment(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(15)))


def as_dicts(frame):
    return {row.customer_id: row._asdict() for row in frame.itertuples(index=False)}


def test_complaints_count_when_received_by_then_and_not_resolved_by_then(cast):
    rep, teammate, outsider = cast.rep_customer, cast.teammate_customer, cast.outsider_customer
    ComplaintFactory(customer=rep, received_at=moment(D(2026, 5, 3)))
    ComplaintFactory(customer=rep, received_at=moment(D(2026, 6, 1)), status="in_progress")
    ComplaintFactory(
        customer=teammate,
        received_at=moment(D(2026, 5, 3)),
        status="resolved",
        resolved_at=moment(D(2026, 7, 2)),  # resolved, but after the date asked about
    )
    ComplaintFactory(
        customer=outsider,
        received_at=moment(D(2026, 5, 3)),
        status="resolved",
        resolved_at=moment(D(2026, 6, 2)),
    )
    ComplaintFactory(customer=outsider, received_at=moment(D(2026, 7, 1)))  # not yet received
    frame = as_dicts(reading.read_open_complaints(D(2026, 6, 30)))
    assert set(frame) == {rep.pk, teammate.pk}
    assert frame[rep.pk]["open_complaints"] == 2
    assert frame[rep.pk]["complaint_since"] == "2026-05-03"
    assert frame[teammate.pk]["open_complaints"] == 1


def test_grades_fall_within_the_window_and_c_or_d_are_poor(cast):
    fell, old_fall, poor = cast.rep_customer, cast.teammate_customer, cast.outsider_customer
    for customer, grade in ((fell, "C"), (old_fall, "C"), (poor, "D")):
        customer.credit_grade = grade
        customer.has_credit_history = True
        customer.save()
    GradeChange.objects.create(
        customer=fell, old_grade="B", new_grade="C", source="rule", changed_at=moment(D(2026, 6, 1))
    )
    GradeChange.objects.create(
        customer=old_fall,
        old_grade="A",
        new_grade="C",
        source="rule",
        changed_at=moment(D(2026, 1, 5)),
    )
    frame = as_dicts(reading.read_grades(D(2026, 6, 30)))
    assert {key: (row["grade_before"], row["grade_now"]) for key, row in frame.items()} == {
        fell.pk: ("B", "C"),
        old_fall.pk: ("C", "C"),
        poor.pk: ("D", "D"),
    }


def test_scoring_a_past_date_replays_grades_from_the_payments_known_then(cast):
    customer = cast.rep_customer
    customer.credit_grade = "A"  # today's grade must not leak into the past
    customer.save()
    OrderFactory(customer=customer, order_date=D(2025, 11, 1))
    InvoiceFactory(customer=customer, issue_date=D(2025, 11, 1), due_date=D(2025, 12, 1))
    frame = as_dicts(reading.replay_grades(D(2025, 12, 31)))
    # Unpaid 30 days past due makes C; ninety days earlier there was no invoice yet: no
    # credit history, so no grade to fall from.
    assert (frame[customer.pk]["grade_before"], frame[customer.pk]["grade_now"]) == ("", "C")


def test_order_statistics_count_the_windows_up_to_the_date(cast):
    customer = cast.rep_customer
    for day, amount in [
        (D(2025, 1, 10), "100"),
        (D(2026, 2, 1), "300"),
        (D(2026, 5, 1), "500"),
        (D(2026, 6, 30), "700"),
        (D(2026, 7, 1), "900"),
    ]:
        OrderFactory(customer=customer, order_date=day, amount=amount)
    stats = as_dicts(reading.read_order_stats(D(2026, 6, 30)))[customer.pk]
    assert stats == {
        "customer_id": customer.pk,
        "orders": 4,
        "recency": 0,
        "tenure": 536,
        "spend_recent": 1200.0,  # after 2026-04-01
        "spend_previous": 300.0,  # 2026-01-01 to 2026-04-01
        "spend_year": 1500.0,
        "orders_recent": 2,
        "orders_previous": 1,
        "orders_year": 3,
        "spend_total": 1600.0,
        "spend_squares": 840000.0,
        # Without a festival calendar, no season.
        "orders_festive": 0,
        "orders_ahead": 0,
        "orders_this_window": 0,
        "orders_last_window": 0,
        "last_window_recency": -1,
    }


FESTIVALS = [("spring", D(2025, 1, 29)), ("spring", D(2026, 2, 17)), ("mid_autumn", D(2025, 10, 6))]


def test_order_statistics_count_the_season_the_calendar_gives(cast):
    customer = cast.rep_customer
    # Before 春节 2025 and 2026, once in the season ahead a year ago, once after the date.
    for day in [D(2025, 1, 10), D(2025, 8, 1), D(2026, 2, 1), D(2026, 7, 1)]:
        OrderFactory(customer=customer, order_date=day, amount="100")
    as_of = D(2026, 6, 30)
    season = calendar.season(FESTIVALS, as_of, 180)
    assert season.festival == "spring"
    assert season.this_window == (D(2026, 1, 20), D(2026, 2, 17))
    assert season.last_window == (D(2025, 1, 1), D(2025, 1, 29))
    assert season.ahead == (D(2025, 7, 1), D(2025, 12, 27))
    stats = as_dicts(reading.read_order_stats(as_of, season))[customer.pk]
    assert stats["orders"] == 3
    assert stats["orders_festive"] == 2
    assert stats["orders_ahead"] == 1
    assert (stats["orders_this_window"], stats["orders_last_window"]) == (1, 1)
    assert stats["last_window_recency"] == (as_of - D(2025, 1, 10)).days


def test_the_bench_reads_the_same_statistics_as_the_database(cast):
    from bench.churn_generators import order_stats

    rows = [
        (cast.rep_customer, D(2025, 1, 10), "100.00"),
        (cast.rep_customer, D(2026, 2, 1), "250.50"),
        (cast.teammate_customer, D(2025, 9, 20), "80.00"),
        (cast.teammate_customer, D(2026, 6, 1), "120.00"),
    ]
    for customer, day, amount in rows:
        OrderFactory(customer=customer, order_date=day, amount=amount)
    orders = pd.DataFrame(
        [(c.pk, day, float(amount)) for c, day, amount in rows],
        columns=["customer_id", "order_date", "amount"],
    )
    as_of = D(2026, 6, 30)
    season = calendar.season(FESTIVALS, as_of, 180)
    from_db = reading.read_order_stats(as_of, season).set_index("customer_id").sort_index()
    from_frame = order_stats(orders, as_of, season).set_index("customer_id").sort_index()
    pd.testing.assert_frame_equal(
        from_db.astype(float), from_frame[from_db.columns].astype(float), check_exact=False
    )


def test_one_pass_reads_the_run_and_the_year_before_as_two_reads_would(cast):
    for customer, days in [
        (cast.rep_customer, [D(2024, 12, 20), D(2025, 1, 10), D(2025, 8, 1), D(2026, 2, 1)]),
        (cast.teammate_customer, [D(2025, 9, 20), D(2026, 6, 1)]),
        (cast.outsider_customer, [D(2024, 3, 1), D(2025, 6, 30), D(2026, 6, 30)]),
    ]:
        for number, day in enumerate(days):
            OrderFactory(customer=customer, order_date=day, amount=f"{100 + 37 * number}.50")
    as_of, year_before = D(2026, 6, 30), D(2025, 6, 30)
    season = calendar.season(FESTIVALS, as_of, 180)
    before_season = calendar.season(FESTIVALS, year_before, 180)
    stats, then = reading.read_order_stats_with_backtest(as_of, season, year_before, before_season)
    pd.testing.assert_frame_equal(stats, reading.read_order_stats(as_of, season))
    pd.testing.assert_frame_equal(then, reading.read_order_stats(year_before, before_season))
    # The teammate had not ordered a year before: not in the backtest.
    assert set(then["customer_id"]) == {cast.rep_customer.pk, cast.outsider_customer.pk}

"""The demo dataset generator: deterministic, realistic in shape, internally consistent."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from customers.demo import STAFF, demo_dataset, season_factor, top_share
from customers.demo.contact_log import TOPICS
from customers.demo.names import companies_in_cities

TODAY = dt.date(2026, 3, 1)
FRAMES = [
    "customers",
    "tags",
    "contacts",
    "orders",
    "invoices",
    "payments",
    "interactions",
    "complaints",
    "issues",
]


@pytest.fixture(scope="module")
def demo():
    return demo_dataset(customers=2000, seed=7, today=TODAY)


def orders_per_customer(demo):
    return demo.orders.groupby("customer")["order_date"].agg(["count", "min", "max"])


def test_same_seed_gives_identical_frames():
    first = demo_dataset(customers=300, seed=11, today=TODAY)
    second = demo_dataset(customers=300, seed=11, today=TODAY)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))


def test_other_seed_gives_other_data():
    first = demo_dataset(customers=300, seed=11, today=TODAY)
    second = demo_dataset(customers=300, seed=12, today=TODAY)
    assert not first.customers["name"].equals(second.customers["name"])
    assert len(first.orders) != len(second.orders) or not first.orders.equals(second.orders)


def test_history_runs_three_years_up_to_today(demo):
    dates = demo.orders["order_date"]
    assert dates.max() <= pd.Timestamp(TODAY)
    assert dates.min() >= pd.Timestamp(TODAY) - pd.Timedelta(days=3 * 365)
    assert dates.min() <= pd.Timestamp(TODAY) - pd.Timedelta(days=3 * 365 - 30)


def test_top_fifth_of_customers_bring_most_revenue(demo):
    revenue = demo.orders.groupby("customer")["amount_cents"].sum()
    assert 0.6 <= top_share(revenue) <= 0.9


def test_some_regular_buyers_have_stopped_buying(demo):
    per_customer = orders_per_customer(demo)
    quiet = per_customer["max"] < pd.Timestamp(TODAY) - pd.Timedelta(days=180)
    churned = (per_customer["count"] >= 3) & quiet
    share = churned.sum() / len(per_customer)
    assert 0.05 < share < 0.5


def test_some_prospects_have_no_orders(demo):
    buyers = demo.orders["customer"].nunique()
    prospects = len(demo.customers) - buyers
    assert 0.02 * len(demo.customers) < prospects < 0.2 * len(demo.customers)


def test_no_order_before_the_customer_joined(demo):
    joined = demo.customers["created_at"].dt.normalize()
    assert (demo.orders["order_date"] >= joined.to_numpy()[demo.orders["customer"]]).all()


def test_parent_links_form_the_distribution_tree(demo):
    customers = demo.customers
    role = customers["channel_role"].to_numpy()
    parent = customers["parent"].to_numpy()
    expected_parent_role = {
        "general_distributor": None,
        "wholesaler": "general_distributor",
        "terminal": "wholesaler",
        "consumer": None,
    }
    for own, supplier in expected_parent_role.items():
        rows = role == own
        if supplier is None:
            assert (parent[rows] == -1).all()
        else:
            assert (parent[rows] >= 0).all()
            assert (role[parent[rows]] == supplier).all()


def test_customers_buy_from_a_supplier_in_their_own_team(demo):
    customers = demo.customers
    has_parent = customers["parent"] >= 0
    parents = customers["parent"][has_parent].to_numpy()
    assert (customers["team"][has_parent].to_numpy() == customers["team"].to_numpy()[parents]).all()


def test_every_customer_is_owned_by_a_rep_of_its_team(demo):
    team_of = {member.username: member.team for member in STAFF if member.role == "rep"}
    assert (demo.customers["owner"].map(team_of) == demo.customers["team"]).all()


def test_rep1_and_rep2_own_a_good_share_of_their_teams(demo):
    customers = demo.customers
    for rep, team in (("rep1", "华东销售一部"), ("rep2", "华南销售二部")):
        in_team = customers[customers["team"] == team]
        assert (in_team["owner"] == rep).mean() > 0.3


def test_terminals_have_a_type_and_individuals_are_people(demo):
    customers = demo.customers
    terminal = customers["channel_role"] == "terminal"
    assert set(customers.loc[terminal, "terminal_type"]) == {
        "hotel",
        "supermarket",
        "restaurant",
        "convenience_store",
    }
    individuals = customers[customers["kind"] == "individual"]
    assert individuals["name"].str.len().between(2, 3).all()
    assert customers.loc[~terminal, "terminal_type"].eq("").all()


def test_names_are_unique_within_a_city(demo):
    customers = demo.customers
    assert not customers.duplicated(["region", "name"]).any()


def test_a_name_taken_in_the_city_becomes_a_numbered_branch():
    rng = np.random.default_rng(1)
    city = np.array([0, 0, 1, 0])
    firms = companies_in_cities(rng, city, [("老街坊酒家",)] * 4)
    assert firms["name"].tolist() == [
        "老街坊酒家",
        "老街坊酒家（2号店）",
        "老街坊酒家",
        "老街坊酒家（3号店）",
    ]


def test_no_two_customers_share_an_email_address(demo):
    emails = demo.customers["email"]
    assert not emails[emails != ""].duplicated().any()


def test_phones_look_like_chinese_numbers(demo):
    phones = pd.concat([demo.customers["phone"], demo.contacts["phone"]])
    assert phones.str.fullmatch(r"1[3-9]\d{9}|0\d{2,3}-\d{8}").all()


def test_references_are_unique(demo):
    for name in ("customers", "orders", "invoices", "payments"):
        refs = getattr(demo, name)["external_ref"]
        assert refs.is_unique, name


def test_invoices_fall_due_after_the_payment_terms(demo):
    terms = (demo.invoices["due_date"] - demo.invoices["issue_date"]).dt.days
    assert set(terms) <= {30, 45, 60}


def test_payments_never_exceed_the_invoice(demo):
    paid = demo.payments.groupby("invoice")["amount_cents"].sum()
    amount = demo.invoices["amount_cents"].to_numpy()[paid.index]
    assert (paid.to_numpy() <= amount).all()
    assert (demo.payments["amount_cents"] > 0).all()


def test_payments_fall_between_issue_and_today(demo):
    issued = demo.invoices["issue_date"].to_numpy()[demo.payments["invoice"]]
    assert (demo.payments["paid_date"].to_numpy() >= issued).all()
    assert (demo.payments["paid_date"] <= pd.Timestamp(TODAY)).all()


def test_payments_belong_to_the_customer_of_their_invoice(demo):
    owner = demo.invoices["customer"].to_numpy()[demo.payments["invoice"]]
    assert (demo.payments["customer"].to_numpy() == owner).all()


def test_payment_behaviour_ranges_from_on_time_to_overdue(demo):
    invoices = demo.invoices
    paid = demo.payments.groupby("invoice")["amount_cents"].sum()
    settled_on = demo.payments.groupby("invoice")["paid_date"].max()
    invoices = invoices.assign(
        paid=paid.reindex(invoices.index, fill_value=0),
        settled_on=settled_on.reindex(invoices.index),
    )
    full = invoices[invoices["paid"] == invoices["amount_cents"]]
    late_days = (full["settled_on"] - full["due_date"]).dt.days
    assert (late_days <= 0).mean() > 0.5
    assert ((late_days > 0) & (late_days <= 15)).any()
    assert (late_days > 30).any()
    overdue = invoices[
        (invoices["due_date"] < pd.Timestamp(TODAY)) & (invoices["paid"] < invoices["amount_cents"])
    ]
    assert overdue["customer"].nunique() > 10
    # Customers in arrears: some invoices due more than 90 days ago are still open.
    assert (overdue["due_date"] < pd.Timestamp(TODAY) - pd.Timedelta(days=90)).any()


def test_cash_customers_get_no_invoices(demo):
    invoiced = demo.customers.loc[demo.invoices["customer"].unique()]
    assert (invoiced["kind"] == "company").all()


def test_spring_festival_brings_a_peak_and_a_pause():
    days = np.arange("2025-01-01", "2025-03-01", dtype="datetime64[D]")
    factor = pd.Series(season_factor(days), index=days)
    assert factor["2025-01-15"] > 1.5
    assert factor["2025-01-30"] < 1.0
    assert factor["2025-02-25"] == pytest.approx(1.0, abs=0.05)


def test_orders_peak_before_the_spring_festival(demo):
    orders = demo.orders
    per_day = orders.groupby("order_date")["amount_cents"].sum()
    before = per_day["2025-01-10":"2025-01-24"].mean()
    usual = per_day["2025-03-10":"2025-05-10"].mean()
    assert before > 1.3 * usual


def test_complaints_and_issues_follow_their_workflow(demo):
    complaints = demo.complaints
    resolved = complaints["status"] == "resolved"
    assert complaints["satisfaction"][resolved].between(1, 5).all()
    assert complaints["satisfaction"][~resolved].isna().all()
    assert (complaints["resolved_at"][resolved] > complaints["received_at"][resolved]).all()
    assert (complaints["resolution"][resolved] != "").all()
    assert {"open", "resolved"} <= set(complaints["status"])
    issues = demo.issues
    closed = issues["status"] == "closed"
    assert closed.any() and (~closed).any()
    assert (issues["closed_at"][closed] > issues["opened_at"][closed]).all()
    assert issues["closed_at"][~closed].isna().all()


def test_contact_log_is_kept_by_the_owner_with_follow_ups_either_side_of_today(demo):
    log = demo.interactions
    owner = demo.customers["owner"].to_numpy()[log["customer"]]
    assert (log["staff"].to_numpy() == owner).all()
    assert (log["occurred_at"] < pd.Timestamp(TODAY) + pd.Timedelta(days=1)).all()
    follow_ups = log["next_follow_up"].dropna()
    assert (follow_ups < pd.Timestamp(TODAY)).any()
    assert (follow_ups >= pd.Timestamp(TODAY)).any()


def contacts_on(demo, occasion=None, *, outcomes=None):
    """Contact-log rows of the topics of `occasion` (or with one of `outcomes`), with
    the contact's day."""
    log = demo.interactions.assign(day=demo.interactions["occurred_at"].dt.normalize())
    if occasion is not None:
        log = log[log["summary"].isin({t.summary for t in TOPICS if t.occasion == occasion})]
    if outcomes is not None:
        log = log[log["outcome"].isin(outcomes)]
    return log


def nearest_order(log, orders, direction):
    """Each contact with the date of the customer's order nearest after (or before) it."""
    orders = orders.assign(order_date=orders["order_date"].astype(log["day"].dtype))
    return pd.merge_asof(
        log.sort_values("day"),
        orders[["customer", "order_date"]].sort_values("order_date"),
        left_on="day",
        right_on="order_date",
        by="customer",
        direction=direction,
    )


def test_contacts_about_an_order_come_with_that_order(demo):
    about_orders = nearest_order(contacts_on(demo, "order"), demo.orders, "forward")
    assert len(about_orders) > 100
    lead = (about_orders["order_date"] - about_orders["day"]).dt.days
    assert lead.between(0, 10).all()


def test_no_contact_speaks_of_an_order_after_the_customers_last_one(demo):
    promising = {outcome for t in TOPICS for outcome in t.ordering}
    claims = pd.concat([contacts_on(demo, "order"), contacts_on(demo, outcomes=promising)])
    last_order = demo.orders.groupby("customer")["order_date"].max()
    assert (claims["day"].to_numpy() <= last_order.reindex(claims["customer"]).to_numpy()).all()


def test_promised_orders_follow_within_a_fortnight(demo):
    promising = {outcome for t in TOPICS for outcome in t.ordering}
    promised = nearest_order(contacts_on(demo, outcomes=promising), demo.orders, "forward")
    assert len(promised) > 20
    assert ((promised["order_date"] - promised["day"]).dt.days.between(0, 14)).all()


def test_questions_about_the_last_delivery_follow_a_delivery(demo):
    follow_ups = nearest_order(contacts_on(demo, "after_order"), demo.orders, "backward")
    assert len(follow_ups) > 20
    assert ((follow_ups["day"] - follow_ups["order_date"]).dt.days.between(5, 30)).all()


def test_customers_who_never_ordered_are_only_courted(demo):
    never_ordered = ~demo.interactions["customer"].isin(demo.orders["customer"])
    courting = {t.summary for t in TOPICS if t.occasion == "courting"}
    assert never_ordered.any()
    assert demo.interactions.loc[never_ordered, "summary"].isin(courting).all()


def test_contacts_about_receivables_only_with_customers_on_credit(demo):
    receivables = {
        t.summary for t in TOPICS if t.occasion in ("due", "overdue", "payment", "statement")
    }
    about = demo.interactions[demo.interactions["summary"].isin(receivables)]
    assert len(about) > 100
    assert about["customer"].isin(demo.invoices["customer"]).all()


def test_complaints_come_within_days_of_a_delivery(demo):
    complaints = demo.complaints.assign(day=demo.complaints["received_at"].dt.normalize())
    complaints = nearest_order(complaints, demo.orders, "backward")
    assert ((complaints["day"] - complaints["order_date"]).dt.days.between(0, 5)).all()


def test_each_company_has_one_primary_contact(demo):
    primaries = demo.contacts[demo.contacts["is_primary"]].groupby("customer").size()
    companies = np.flatnonzero(demo.customers["kind"] == "company")
    assert (primaries.reindex(companies, fill_value=0) == 1).all()


def test_top_share_counts_only_customers_with_revenue():
    revenue = pd.Series([0, 0, 80, 5, 5, 5, 5])
    assert top_share(revenue) == pytest.approx(0.8)
    assert top_share(pd.Series([0, 0])) == 0.0


def test_too_few_customers_are_refused():
    with pytest.raises(ValueError, match="at least"):
        demo_dataset(customers=5, seed=1, today=TODAY)

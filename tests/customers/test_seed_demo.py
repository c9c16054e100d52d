"""The seed_demo and demo_logins commands against the database."""

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Sum

from customers.demo.loading import wholly_deleted_with
from customers.models import (
    Complaint,
    Contact,
    Customer,
    Interaction,
    Invoice,
    OpenIssue,
    Order,
    Payment,
    PipelineRun,
    Team,
)
from customers.receivables import changed_balances

TODAY = dt.date(2026, 3, 1)


def seed(*args):
    out = StringIO()
    call_command(
        "seed_demo", "--customers", "200", "--seed", "3", "--today", str(TODAY), *args, stdout=out
    )
    return out.getvalue()


@pytest.fixture
def seeded(db):
    return seed()


def user(username):
    return get_user_model().objects.get(username=username)


def test_demo_logins_sit_in_their_teams(seeded):
    rep1, rep2, manager = user("rep1"), user("rep2"), user("manager")
    rep1_team = Team.objects.get(members=rep1)
    rep2_team = Team.objects.get(members=rep2)
    assert rep1_team.name == "华东销售一部"
    assert rep2_team != rep1_team
    assert list(manager.managed_teams.all()) == [rep1_team]
    assert not manager.is_staff and not manager.is_superuser
    assert user("admin").is_superuser and user("admin").is_staff
    assert rep1.check_password("demo12345")
    assert rep1.last_name and rep1.first_name


def test_customers_are_owned_by_members_of_their_team(seeded):
    customers = Customer.objects.all()
    assert customers.count() == 200
    assert not customers.exclude(team__members=F("owner")).exists()
    owners = set(customers.values_list("owner__username", flat=True))
    assert {"rep1", "rep2"} <= owners
    assert customers.filter(owner=user("rep1")).count() >= 15


def test_records_point_at_their_customers(seeded):
    assert not Payment.objects.exclude(customer=F("invoice__customer")).exists()
    assert not Interaction.objects.exclude(staff=F("customer__owner")).exists()
    wholesalers = Customer.objects.filter(channel_role=Customer.ChannelRole.WHOLESALER)
    assert not wholesalers.exclude(
        parent__channel_role=Customer.ChannelRole.GENERAL_DISTRIBUTOR
    ).exists()
    for model in (Order, Invoice, Payment, Interaction, Complaint, OpenIssue, Contact):
        assert model.objects.exists(), model.__name__


def test_balances_are_refreshed(seeded):
    assert Customer.objects.with_overdue().exists()
    assert changed_balances(TODAY).empty
    overdue = Customer.objects.aggregate(total=Sum("overdue_amount"))["total"]
    assert overdue > 0


def test_history_ends_on_the_given_day(seeded):
    last = Order.objects.order_by("-order_date").values_list("order_date", flat=True).first()
    assert last <= TODAY
    assert not Payment.objects.filter(paid_date__gt=TODAY).exists()


def test_summary_counts_what_was_written(seeded):
    assert f"{Order.objects.count():,}" in seeded
    assert f"{Invoice.objects.count():,}" in seeded


def test_if_empty_leaves_a_seeded_database_alone(seeded):
    before = Order.objects.count()
    out = seed("--if-empty")
    assert "no demo data was added" in out
    assert Customer.objects.count() == 200
    assert Order.objects.count() == before


def test_refuses_to_seed_over_existing_customers(seeded):
    with pytest.raises(CommandError, match="--reset"):
        seed()
    assert Customer.objects.count() == 200


def test_reset_replaces_the_customers_and_updates_the_users(seeded):
    old_ids = set(Customer.objects.values_list("pk", flat=True))
    rep1 = user("rep1")
    rep1.first_name = "改过"
    rep1.save()
    seed("--reset", "--password", "another-pass-1")
    new_ids = set(Customer.objects.values_list("pk", flat=True))
    assert len(new_ids) == 200
    assert not old_ids & new_ids
    assert user("rep1").first_name == "芳"
    assert user("rep1").check_password("another-pass-1")
    assert Team.objects.filter(members=user("rep1")).count() == 1


def test_same_seed_writes_the_same_data(db):
    seed()
    first = list(Order.objects.order_by("external_ref").values_list("external_ref", "amount"))
    seed("--reset")
    second = list(Order.objects.order_by("external_ref").values_list("external_ref", "amount"))
    assert first == second


def test_complaints_per_status(seeded):
    statuses = dict(
        Complaint.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    assert statuses.get(Complaint.Status.RESOLVED, 0) > 0
    resolved = Complaint.objects.filter(status=Complaint.Status.RESOLVED)
    assert not resolved.filter(satisfaction__isnull=True).exists()


def test_too_few_customers_are_refused(db):
    with pytest.raises(CommandError, match="at least"):
        call_command("seed_demo", "--customers", "3")


def test_today_must_be_a_date(db):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("seed_demo", "--today", "yesterday")


def test_demo_logins_lists_the_demo_users(seeded):
    out = StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    for username in ("admin", "manager", "rep1", "rep2"):
        assert username in text
    assert "华东销售一部" in text
    assert "demo12345" in text


def test_demo_logins_hides_a_password_it_does_not_know(db):
    seed("--password", "another-pass-1")
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert "demo12345" not in out.getvalue()
    assert "--password" in out.getvalue()


def test_a_reset_may_empty_the_tables_when_every_reference_cascades():
    doomed = wholly_deleted_with(Customer)
    assert {Customer, Order, Invoice, Payment, Interaction, Customer.tags.through} <= doomed


def test_a_reset_goes_row_by_row_when_a_reference_would_survive():
    # Grade changes keep their history when a pipeline run goes (SET_NULL).
    assert wholly_deleted_with(PipelineRun) is None


def test_demo_logins_without_demo_users_says_so(db):
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert "seed_demo" in out.getvalue()

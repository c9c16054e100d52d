"""The contact rhythm (拜访节奏): who is overdue for a contact, on the start page and its list,
per rep for managers, and the festival visit lists."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from customers.models import Interaction, PipelineRun
from lifecycle import rhythm
from lifecycle.models import ContactRhythmSettings, CustomerStage, Stage
from segmentation.models import RfmScore
from tests.factories import CustomerFactory, InteractionFactory

RHYTHM_URL = reverse("contact-rhythm")


def contacted(customer, days_ago, channel=Interaction.Channel.PHONE):
    return InteractionFactory(
        customer=customer,
        channel=channel,
        occurred_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def tiers(**tier_by_customer):
    """A published run giving each customer (keyword: the customer) its value tier."""
    run = PipelineRun.objects.create(
        as_of=timezone.localdate(),
        status=PipelineRun.Status.SUCCEEDED,
        published_at=timezone.now(),
    )
    RfmScore.objects.bulk_create(
        RfmScore(
            run=run,
            customer=customer,
            recency_days=1,
            frequency=1,
            monetary=Decimal("100.00"),
            r_score=3,
            f_score=3,
            m_score=3,
            segment="loyal",
            value_tier=tier,
        )
        for customer, tier in tier_by_customer.values()
    )
    return run


def old(customer, days=400):
    """Created long ago, so that a never-contacted customer is overdue."""
    customer.created_at = timezone.now() - dt.timedelta(days=days)
    customer.save(update_fields=["created_at"])
    return customer


@pytest.fixture
def rhythm_cast(cast):
    """The rep's hotel is a key customer, the teammate's supermarket an ordinary one."""
    tiers(a=(cast.rep_customer, "key"), b=(cast.teammate_customer, "ordinary"))
    for customer in (cast.rep_customer, cast.teammate_customer, cast.outsider_customer):
        old(customer)
    return cast


def names(client, query=""):
    content = client.get(RHYTHM_URL + query).content.decode()
    return [name for name in ("上海锦江酒店", "杭州联华超市", "成都红旗连锁") if name in content]


@pytest.mark.parametrize(
    ("days_ago", "overdue"), [(29, False), (30, False), (31, True), (45, True)]
)
def test_a_key_customer_is_overdue_from_the_day_after_its_interval(
    rhythm_cast, client_for, days_ago, overdue
):
    contacted(rhythm_cast.rep_customer, days_ago)
    listed = names(client_for(rhythm_cast.rep))
    assert listed == (["上海锦江酒店"] if overdue else [])


def test_the_days_overdue_count_from_the_due_day(rhythm_cast):
    contacted(rhythm_cast.rep_customer, 31, channel=Interaction.Channel.VISIT)
    [row] = rhythm.start_block(rhythm_cast.rep)["rows"]
    assert (row.days_overdue, row.interval_days, row.last_channel) == (1, 30, "visit")


def test_each_tier_has_its_own_interval_and_customers_without_one_the_small_one(rhythm_cast):
    settings = ContactRhythmSettings.current()
    settings.ordinary_days, settings.small_days = 40, 50
    settings.save()
    contacted(rhythm_cast.rep_customer, 1)
    contacted(rhythm_cast.teammate_customer, 40)  # ordinary: due today
    contacted(rhythm_cast.outsider_customer, 51)  # no tier: small, one day over
    overdue = rhythm.due_list(rhythm_cast.admin, today=timezone.localdate())
    assert [customer.name for customer in overdue] == ["成都红旗连锁"]


def test_never_contacted_customers_fall_due_one_interval_after_they_were_created(cast):
    old(cast.rep_customer, days=91)
    old(cast.teammate_customer, days=90)
    assert [c.name for c in rhythm.due_list(cast.manager, today=timezone.localdate())] == [
        "上海锦江酒店"
    ]


def test_the_most_overdue_come_first_across_tiers(rhythm_cast):
    contacted(rhythm_cast.rep_customer, 35)  # key: 5 days over
    contacted(rhythm_cast.teammate_customer, 80)  # ordinary: 20 days over
    rows = rhythm.start_block(rhythm_cast.manager)["rows"]
    assert [(row.name, row.days_overdue) for row in rows] == [
        ("杭州联华超市", 20),
        ("上海锦江酒店", 5),
    ]


def test_a_contact_by_a_colleague_counts_and_the_latest_one_is_shown(rhythm_cast):
    contacted(rhythm_cast.rep_customer, 100)
    InteractionFactory(
        customer=rhythm_cast.rep_customer,
        staff=rhythm_cast.teammate,
        channel=Interaction.Channel.WECHAT,
        occurred_at=timezone.now() - dt.timedelta(days=33),
    )
    [row] = rhythm.start_block(rhythm_cast.rep)["rows"]
    assert (row.days_overdue, row.last_channel) == (3, "wechat")


def test_lost_customers_are_left_out(rhythm_cast, client_for):
    CustomerStage.objects.create(
        customer=rhythm_cast.rep_customer, stage=Stage.TERMINATION, since=timezone.localdate()
    )
    assert rhythm.start_block(rhythm_cast.rep)["overdue"] == 0
    assert names(client_for(rhythm_cast.manager)) == ["杭州联华超市"]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("rep", ["上海锦江酒店"]),
        ("teammate", ["杭州联华超市"]),
        ("manager", ["上海锦江酒店", "杭州联华超市"]),
        ("outsider", ["成都红旗连锁"]),
        ("admin", ["上海锦江酒店", "杭州联华超市", "成都红旗连锁"]),
    ],
)
def test_everyone_sees_only_the_customers_they_may_see(rhythm_cast, client_for, who, expected):
    client = client_for(getattr(rhythm_cast, who))
    assert names(client) == expected
    home = client.get(reverse("home")).content.decode()
    on_start = [name for name in ("上海锦江酒店", "杭州联华超市", "成都红旗连锁") if name in home]
    # An admin's start page keeps to their own book (none here); the list has everyone.
    assert on_start == ([] if who == "admin" else expected)


def test_an_admin_who_leads_a_team_sees_that_teams_reps_on_the_start_page(rhythm_cast):
    rhythm_cast.west.managers.add(rhythm_cast.admin)
    block = rhythm.start_block(rhythm_cast.admin)
    assert [row.name for row in block["rows"]] == ["成都红旗连锁"]
    assert [row["owner"].username for row in block["per_rep"]] == ["outsider"]


def test_another_teams_rep_cannot_be_chosen_as_owner(rhythm_cast, client_for):
    response = client_for(rhythm_cast.manager).get(RHYTHM_URL + f"?owner={rhythm_cast.outsider.pk}")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Select a valid choice" in content
    assert "成都红旗连锁" not in content


def test_a_manager_filters_one_rep(rhythm_cast, client_for):
    client = client_for(rhythm_cast.manager)
    assert names(client, f"?owner={rhythm_cast.teammate.pk}") == ["杭州联华超市"]


def test_a_manager_sees_each_reps_share_contacted_on_time(rhythm_cast):
    contacted(rhythm_cast.rep_customer, 10)
    CustomerFactory(owner=rhythm_cast.rep, team=rhythm_cast.east)  # new: on time
    old(CustomerFactory(owner=rhythm_cast.rep, team=rhythm_cast.east))  # never contacted
    per_rep = rhythm.start_block(rhythm_cast.manager)["per_rep"]
    assert [
        (row["owner"].username, row["customers"], row["on_time"], row["overdue"], row["share"])
        for row in per_rep
    ] == [("teammate", 1, 0, 1, 0.0), ("rep", 3, 2, 1, 2 / 3)]
    assert rhythm.start_block(rhythm_cast.rep)["per_rep"] == []


def test_the_start_page_shows_the_per_rep_table_to_managers_only(rhythm_cast, client_for):
    assert 'id="rhythm-by-rep"' in client_for(rhythm_cast.manager).get("/").content.decode()
    assert 'id="rhythm-by-rep"' not in client_for(rhythm_cast.rep).get("/").content.decode()


def test_festival_visit_lists(rhythm_cast, client_for):
    today = timezone.localdate()
    festival = rhythm.festival_by_key(rhythm.NEW_YEAR, today)
    days_left = (festival.day - today).days
    settings = ContactRhythmSettings.current()
    settings.key_days = settings.ordinary_days = settings.small_days = 3000
    settings.festival_days = days_left + 5
    settings.save()
    contacted(rhythm_cast.rep_customer, 4)  # within the window before the festival
    contacted(rhythm_cast.teammate_customer, 6)  # before the window opened
    client = client_for(rhythm_cast.manager)
    assert names(client) == []
    assert names(client, "?festival=new_year") == ["杭州联华超市"]
    content = client.get(RHYTHM_URL + "?festival=new_year").content.decode()
    assert f"Visits before New Year&#x27;s Day ({festival.day:%Y-%m-%d})" in content


def test_a_customer_falling_due_before_the_festival_is_on_its_list(rhythm_cast):
    today = timezone.localdate()
    festival = rhythm.festival_by_key(rhythm.NEW_YEAR, today)
    settings = ContactRhythmSettings.current()
    settings.festival_days = 1
    days_left = (festival.day - today).days
    contacted(rhythm_cast.rep_customer, 30 - days_left + 1)  # key: due the day before
    listed = rhythm.due_list(rhythm_cast.rep, festival=festival, settings=settings)
    assert [customer.name for customer in listed] == ["上海锦江酒店"]


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (
            dt.date(2026, 12, 7),
            [("new_year", dt.date(2027, 1, 1)), ("spring_festival", dt.date(2027, 2, 6))],
        ),
        (
            dt.date(2027, 1, 1),
            [("spring_festival", dt.date(2027, 2, 6)), ("new_year", dt.date(2028, 1, 1))],
        ),
        (
            dt.date(2027, 2, 6),
            [("new_year", dt.date(2028, 1, 1)), ("spring_festival", dt.date(2028, 1, 26))],
        ),
        (dt.date(2035, 3, 1), [("new_year", dt.date(2036, 1, 1))]),
    ],
)
def test_the_next_festivals(today, expected):
    assert [(f.key, f.day) for f in rhythm.next_festivals(today)] == expected


def test_an_unknown_festival_is_refused_with_a_message(rhythm_cast, client_for):
    response = client_for(rhythm_cast.rep).get(RHYTHM_URL + "?festival=mid_autumn")
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_the_list_pages(rhythm_cast, client_for, settings):
    settings.CUSTOMER_LIST_PAGE_SIZE = 2
    for _n in range(3):
        old(CustomerFactory(owner=rhythm_cast.rep, team=rhythm_cast.east))
    client = client_for(rhythm_cast.rep)
    assert "Page 1 of 2" in client.get(RHYTHM_URL).content.decode()
    assert "Page 2 of 2" in client.get(RHYTHM_URL + "?page=2").content.decode()


def test_the_list_names_each_customers_tier_or_none(rhythm_cast, client_for):
    contacted(rhythm_cast.rep_customer, 31)  # key
    contacted(rhythm_cast.teammate_customer, 61)  # ordinary
    contacted(rhythm_cast.outsider_customer, 91)  # no tier
    content = client_for(rhythm_cast.admin).get(RHYTHM_URL).content.decode()
    assert "Key customers" in content and "Ordinary customers" in content
    assert "no tier" in content


def test_the_list_renders_in_chinese(rhythm_cast, client_for):
    contacted(rhythm_cast.rep_customer, 31)
    client = client_for(rhythm_cast.rep)
    with override("zh-hans"):
        content = client.get(RHYTHM_URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        home = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "重点客户" in content and "电话" in content
    assert "拜访" in home


def test_the_list_and_the_start_block_read_a_fixed_number_of_queries(
    rhythm_cast, client_for, django_assert_num_queries
):
    for n in range(12):
        customer = old(CustomerFactory(owner=rhythm_cast.rep, team=rhythm_cast.east))
        contacted(customer, 100 + n)
    # settings; the viewer's permissions (user, groups) and managed teams, once per request;
    # the rows with their owner, stored last contact and channel, and tier, one query per
    # value tier (key, ordinary, small) and part of the manager's book (own, the team);
    # the overdue count; the per-rep table
    with django_assert_num_queries(12):
        rhythm.start_block(rhythm_cast.manager)
    client = client_for(rhythm_cast.manager)
    client.get(RHYTHM_URL)
    # session, user, settings, permissions (user, groups), managed teams, the capped count,
    # the page's rows with their owner, stored last contact and channel, and tier, one
    # query per value tier and part of the book (own, the team); the owners offered in
    # the filter
    with django_assert_num_queries(14):
        assert client.get(RHYTHM_URL).status_code == 200


def test_the_tiers_streams_merge_worst_first_across_pages(rhythm_cast, client_for, settings):
    """Key (30 days) contacted 50 days ago is 20 days over; ordinary (60) contacted 100 days
    ago 40 over; the outsider's small (90) 95 days ago 5 over: the order is by days over,
    not by the last contact, and a page boundary falls inside the merge."""
    contacted(rhythm_cast.rep_customer, 50)
    contacted(rhythm_cast.teammate_customer, 100)
    contacted(rhythm_cast.outsider_customer, 95)
    today = timezone.localdate()
    rows = rhythm.due_list(rhythm_cast.admin, today=today)
    ordered = [customer.pk for customer in rows[0:3]]
    assert ordered == [
        rhythm_cast.teammate_customer.pk,
        rhythm_cast.rep_customer.pk,
        rhythm_cast.outsider_customer.pk,
    ]
    assert [customer.pk for customer in rows[1:2]] == [rhythm_cast.rep_customer.pk]
    assert rows.order_by()[:10].count() == 3
    settings.CUSTOMER_LIST_PAGE_SIZE = 2
    second = client_for(rhythm_cast.admin).get(RHYTHM_URL + "?page=2")
    assert [customer.pk for customer in second.context["page"].object_list] == [
        rhythm_cast.outsider_customer.pk
    ]


def test_a_managers_own_customer_in_the_team_is_listed_once(rhythm_cast):
    own = old(CustomerFactory(owner=rhythm_cast.manager, team=rhythm_cast.east, name="自管客户"))
    rows = rhythm.due_list(rhythm_cast.manager, today=timezone.localdate())
    listed = [customer.pk for customer in rows[0:10]]
    assert listed.count(own.pk) == 1
    assert len(listed) == len(set(listed)) == rows.order_by()[:10].count()

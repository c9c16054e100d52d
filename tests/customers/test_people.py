"""People are named the way they read: Chinese names family name first (张伟)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import PipelineRun
from customers.people import by_name, display_name
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("first_name", "last_name", "username", "shown"),
    [
        ("伟", "张", "zhangwei", "张伟"),
        ("小明", "欧阳", "ouyang", "欧阳小明"),
        (" 伟 ", " 张 ", "padded", "张伟"),
        ("伟", "", "given_only", "伟"),
        ("", "张", "family_only", "张"),
        ("Anna", "Schmidt", "anna", "Anna Schmidt"),
        ("Anna", "", "anna2", "Anna"),
        ("", "", "nameless", "nameless"),
    ],
)
def test_display_name(first_name, last_name, username, shown):
    user = UserFactory.build(first_name=first_name, last_name=last_name, username=username)
    assert display_name(user) == shown


def test_display_name_of_nobody_is_the_empty_value():
    assert display_name(None) == ""
    assert display_name(None, empty="—") == "—"


@pytest.mark.django_db
def test_people_are_ordered_by_family_name_then_given_name():
    for username, first, last in [
        ("c", "伟", "张"),
        ("a", "芳", "王"),
        ("b", "强", "张"),
        ("zz", "", ""),
        ("d", "Anna", "Li"),
    ]:
        UserFactory(username=username, first_name=first, last_name=last)
    users = by_name(UserFactory._meta.model.objects.filter(username__in=["a", "b", "c", "d", "zz"]))
    assert [display_name(user) for user in users] == ["Anna Li", "zz", "张伟", "张强", "王芳"]


@pytest.fixture
def zhang_wei(cast):
    user = UserFactory(username="zhangwei", first_name="伟", last_name="张")
    cast.east.members.add(user)
    return user


def test_reassign_dropdown_names_people_family_name_first(cast, client_for, zhang_wei):
    content = (
        client_for(cast.manager)
        .get(reverse("customer-reassign", args=[cast.rep_customer.pk]))
        .content.decode()
    )
    assert "张伟" in content and "王伟" in content
    assert "伟 张" not in content and "伟 王" not in content
    assert ">zhangwei<" not in content


def test_customer_list_owner_filter_offers_names_in_order(cast, client_for, zhang_wei):
    content = client_for(cast.manager).get(reverse("customer-list")).content.decode()
    select = content[content.index('name="owner"') :]
    select = select[: select.index("</select>")]
    assert "张伟" in select and "伟 张" not in select and ">zhangwei<" not in select
    # By family name, then given name (in the order of their characters' code points).
    offered = ["李芳", "王伟", "张强", "张伟"]
    assert sorted(offered, key=select.index) == ["张伟", "张强", "李芳", "王伟"]


def test_churn_list_owner_filter_offers_names(cast, client_for, zhang_wei):
    content = client_for(cast.manager).get(reverse("churn-risk-list")).content.decode()
    select = content[content.index('name="owner"') :]
    select = select[: select.index("</select>")]
    assert "张伟" in select and "伟 张" not in select and ">zhangwei<" not in select


def test_run_pages_show_who_started_the_run_family_name_first(cast, client_for, zhang_wei):
    run = PipelineRun.objects.create(
        as_of=dt.date(2026, 2, 1),
        status=PipelineRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
        triggered_by=zhang_wei,
    )
    client = client_for(cast.admin)
    for url in (reverse("pipeline-runs"), reverse("pipeline-run-detail", args=[run.pk])):
        content = client.get(url).content.decode()
        assert "张伟" in content and "伟 张" not in content


def test_admin_lists_name_the_owner_family_name_first(cast, client_for):
    content = client_for(cast.admin).get(reverse("admin:customers_customer_changelist")).content
    assert "王伟" in content.decode() and "伟 王" not in content.decode()


def test_admin_pages_name_who_started_closed_and_changed_family_name_first(cast, client_for):
    from customers.credit.services import grade_set

    run = PipelineRun.objects.create(
        as_of=dt.date(2026, 2, 1),
        status=PipelineRun.Status.FAILED,
        finished_at=timezone.now(),
        triggered_by=cast.manager,
        closed_by=cast.rep,
    )
    grade_set(customer=cast.rep_customer, grade="B", locked=False, reason="核实", by=cast.teammate)
    client = client_for(cast.admin)
    pages = {
        reverse("admin:customers_pipelinerun_changelist"): ["张强"],
        reverse("admin:customers_pipelinerun_change", args=[run.pk]): ["张强", "王伟"],
        reverse("admin:customers_gradechange_changelist"): ["李芳"],
        reverse("admin:customers_customer_change", args=[cast.rep_customer.pk]): ["李芳"],
    }
    for url, names in pages.items():
        content = client.get(url).content.decode()
        for name in names:
            assert name in content and f"{name[1:]} {name[0]}" not in content, url

"""The customer history tells what changed, old → new, from the first change of a file
written in bulk, names people and labels, and never claims what the nightly run did."""

import datetime as dt
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from customers.pipeline import pipeline_run
from tests.customers.test_credit import AS_OF, admin_change_data, invoice_paid
from tests.factories import UserFactory


def bulk_customer(cast, **values):
    """A customer as seeds and COPY loads write them: no history row."""
    values = {
        "external_ref": "SEED1",
        "name": "上海锦江饭店",
        "region": "上海",
        "owner": cast.rep,
        "team": cast.east,
        "channel_role": Customer.ChannelRole.TERMINAL,
        "created_at": timezone.now() - dt.timedelta(days=400),
        **values,
    }
    Customer.objects.bulk_create([Customer(**values)])
    customer = Customer.objects.get(external_ref=values["external_ref"])
    assert not customer.history.exists()
    return customer


def site_edit(client, customer, **changes):
    data = {
        "name": customer.name,
        "external_ref": customer.external_ref,
        "kind": customer.kind,
        "channel_role": customer.channel_role,
        "terminal_type": customer.terminal_type,
        "region": customer.region,
        "phone": customer.phone,
        **changes,
    }
    response = client.post(reverse("customer-edit", args=[customer.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    return response


def history_panel_lines(client, customer):
    """The history panel's text, one line per change or note."""
    content = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    panel = content[content.index('id="panel-history"') :]
    panel = panel[: panel.index("</ul>")]
    text = re.sub(r"<[^>]+>", "\n", panel)
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_first_site_edit_of_a_bulk_created_customer_shows_old_and_new(cast, client_for):
    customer = bulk_customer(cast)
    client = client_for(cast.rep)

    site_edit(client, customer, region="杭州", channel_role="wholesaler", terminal_type="")

    lines = history_panel_lines(client, customer)
    assert "Region: 上海 → 杭州" in lines
    assert "Channel role: Terminal → Wholesaler" in lines
    assert customer.history.count() == 2  # the baseline and the edit
    site_edit(client, Customer.objects.get(pk=customer.pk), region="苏州")
    assert customer.history.count() == 3  # one baseline only
    assert "Region: 杭州 → 苏州" in history_panel_lines(client, customer)


def test_the_baseline_is_the_file_as_loaded_dated_at_its_creation(cast, client_for):
    customer = bulk_customer(cast)
    site_edit(client_for(cast.rep), customer, phone="021-1234 5678")
    baseline = customer.history.earliest()
    assert (baseline.history_type, baseline.history_user, baseline.phone) == ("+", None, "")
    assert baseline.history_date == customer.created_at
    assert baseline.history_change_reason is None


def test_reassignment_names_the_owners_and_says_why(cast, client_for):
    wang_fang = UserFactory(username="wangfang", first_name="芳", last_name="王")
    liu_yang = UserFactory(username="liuyang", first_name="洋", last_name="刘")
    cast.east.members.add(wang_fang, liu_yang)
    customer = bulk_customer(cast, owner=wang_fang)
    client = client_for(cast.manager)

    response = client.post(
        reverse("customer-reassign", args=[customer.pk]), {"owner": liu_yang.pk, "reason": "调岗"}
    )

    assert response.status_code == 302
    lines = history_panel_lines(client, customer)
    assert "Owner: 王芳 → 刘洋" in lines
    assert "Reason: 调岗" in lines
    assert not any("wangfang" in line or str(wang_fang.pk) in line.split() for line in lines)


def test_a_supplier_change_names_both_suppliers(cast, client_for):
    old = bulk_customer(cast, external_ref="W1", name="老批发部", channel_role="wholesaler")
    new = bulk_customer(cast, external_ref="W2", name="新批发部", channel_role="wholesaler")
    customer = bulk_customer(cast, parent=old)
    client = client_for(cast.rep)
    site_edit(client, customer, parent_ref=new.external_ref)
    assert "Supplied by: 老批发部 → 新批发部" in history_panel_lines(client, customer)


def test_the_nightly_grade_is_not_claimed_by_the_next_editor(cast, client_for):
    customer = bulk_customer(cast)
    client = client_for(cast.rep)
    site_edit(client, customer, phone="021-1")
    invoice_paid(customer, days_late=None, due=AS_OF - dt.timedelta(days=30))
    assert pipeline_run(as_of=AS_OF).status == "succeeded"
    customer.refresh_from_db()
    assert customer.credit_grade == "C" and customer.outstanding_amount > 0

    site_edit(client, customer, phone="021-2")

    latest, before = customer.history.all()[:2]
    assert [change.field for change in latest.diff_against(before).changes] == ["phone"]
    lines = history_panel_lines(client, customer)
    assert "Phone: 021-1 → 021-2" in lines
    assert not any(
        re.match(r"(Credit grade|Outstanding|Overdue|Credit history)", line) for line in lines
    )


def test_an_admin_change_of_a_bulk_created_customer_shows_old_and_new(cast, client_for):
    customer = bulk_customer(cast)
    client = client_for(cast.admin)
    url = reverse("admin:customers_customer_change", args=[customer.pk])

    response = client.post(url, admin_change_data(customer, region="南京"))

    assert response.status_code == 302
    assert "Region: 上海 → 南京" in history_panel_lines(client, customer)


def test_admin_history_page_lists_changes_without_none(cast, client_for):
    customer = bulk_customer(cast)
    client = client_for(cast.admin)
    site_edit(client, customer, region="南京")
    client.post(
        reverse("customer-reassign", args=[customer.pk]),
        {"owner": cast.teammate.pk, "reason": "调岗"},
    )

    response = client.get(reverse("admin:customers_customer_history", args=[customer.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "None" not in content
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", content))
    assert "Region: 上海 → 南京" in text
    assert "Owner: 王伟 → 李芳" in text
    assert "调岗" in text


def test_importing_changes_to_a_bulk_created_customer_shows_old_and_new(
    cast, client_for, tmp_path: Path
):
    customer = bulk_customer(cast)
    path = tmp_path / "customers.csv"
    path.write_text("customer_ref,name,region\nSEED1,上海锦江饭店,北京\n", encoding="utf-8")

    call_command("import_customers", str(path), stdout=StringIO(), stderr=StringIO())

    lines = history_panel_lines(client_for(cast.rep), customer)
    assert "Region: 上海 → 北京" in lines
    assert "Reason: Imported from a file" in lines


def test_a_change_recorded_without_an_earlier_state_says_so(cast, client_for):
    customer = bulk_customer(cast)
    # What the history held before baselines: the first recorded row is a change.
    Customer.history.model.objects.create(
        id=customer.pk,
        external_ref=customer.external_ref,
        name=customer.name,
        kind=customer.kind,
        channel_role=customer.channel_role,
        created_at=customer.created_at,
        history_date=timezone.now(),
        history_type="~",
    )
    lines = history_panel_lines(client_for(cast.rep), customer)
    assert "The values before this change were not recorded." in lines


def test_a_new_file_says_created_without_a_reason(cast, client_for):
    client = client_for(cast.rep)
    response = client.post(
        reverse("customer-create"),
        {"name": "新客户", "external_ref": "NEW1", "kind": "company", "channel_role": "terminal"},
    )
    assert response.status_code == 302
    customer = Customer.objects.get(external_ref="NEW1")
    assert customer.history.get().history_change_reason is None
    lines = history_panel_lines(client, customer)
    assert "File created" in lines and not any(line.startswith("Reason") for line in lines)


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("refuses_to_pay", True, "Yes"),
        ("refuses_to_pay", False, "No"),
        ("source", "exhibition", "Trade fair"),
        ("created_at", dt.datetime(2026, 3, 1, 1, 30, tzinfo=dt.UTC), "2026-03-01 09:30"),
        ("region", "", ""),
    ],
)
def test_values_are_shown_as_people_read_them(settings, field, value, shown):
    from customers.history import value_shown

    settings.TIME_ZONE = "Asia/Shanghai"
    assert value_shown(field, value, {}) == shown

"""One journey through the real site in a real browser: log in as a sales rep,
find a customer, log a call on their file, and read the page in both languages."""

import uuid

import pytest
from django.urls import reverse

from customers.models import Interaction
from tests.browser.journeys import (
    log_a_call,
    log_in,
    log_out_to_the_chinese_login,
    open_customer_file,
    read_the_file_in_chinese,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "rep-smoke-pass-2026"
SCREENSHOT = "/tmp/crm-smoke.png"


def test_rep_finds_customer_logs_a_call_and_reads_the_file_in_both_languages(page, cast):
    cast.rep.set_password(PASSWORD)
    cast.rep.save()
    customer = cast.rep_customer
    summary = f"电话回访：客户要求下周送样品 {uuid.uuid4().hex[:8]}"

    log_in(page, "rep", PASSWORD)

    detail_path = open_customer_file(
        page, name=customer.name, search="锦江", hidden_text=cast.outsider_customer.name
    )
    assert detail_path == reverse("customer-detail", args=[customer.pk])

    follow_up = log_a_call(page, detail_path=detail_path, summary=summary)
    logged = Interaction.objects.get(summary=summary)
    assert (logged.customer, logged.staff, logged.channel) == (customer, cast.rep, "phone")
    assert logged.next_follow_up == follow_up

    read_the_file_in_chinese(page, detail_path=detail_path, name=customer.name, summary=summary)
    page.screenshot(path=SCREENSHOT, full_page=True)

    log_out_to_the_chinese_login(page)

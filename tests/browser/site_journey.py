"""The smoke test's journey on a running site with the demo data, e.g. production
mode under gunicorn:

    CRM_BASE_URL=http://127.0.0.1:8000 python -m pytest tests/browser/site_journey.py

`make test` does not collect this file (its name does not start with `test_`): it
needs a site that is already up. `.ci/production` runs it against gunicorn. What
the rep does is checked in the pages the site sends back, not in the database."""

import os
import uuid

import pytest
from django.urls import reverse

from customers.demo import DEFAULT_PASSWORD
from tests.browser.journeys import (
    log_a_call,
    log_in,
    log_out_to_the_chinese_login,
    open_customer_file,
    read_the_file_in_chinese,
)

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/crm-site-journey.png"


@pytest.fixture
def site_url():
    url = os.environ.get("CRM_BASE_URL", "").rstrip("/")
    if not url:
        pytest.fail("Set CRM_BASE_URL to the running site, e.g. http://127.0.0.1:8000")
    return url


def customers_on_the_first_page(page):
    """(name, reference) of each customer on the first page of the customer list."""
    page.goto(reverse("customer-list"))
    names = page.locator("#customer-table a.customer-link").all_inner_texts()
    details = page.locator("#customer-table a.customer-link + div").all_inner_texts()
    return [
        (name.strip(), detail.split("·")[0].strip())
        for name, detail in zip(names, details, strict=True)
    ]


def test_demo_rep_finds_customer_logs_a_call_and_reads_the_file_in_both_languages(
    new_page, site_url
):
    # Demo shops of different teams may share a name; references are unique.
    other_team = new_page(site_url)
    log_in(other_team, "rep2", DEFAULT_PASSWORD)
    _, other_teams_reference = customers_on_the_first_page(other_team)[0]
    page = new_page(site_url)
    log_in(page, "rep1", DEFAULT_PASSWORD)
    customers = customers_on_the_first_page(page)
    names = [name for name, _ in customers]
    name, reference = next(
        (name, reference)
        for name, reference in customers
        if sum(name in other for other in names) == 1
    )
    summary = f"电话回访：客户要求下周送样品 {uuid.uuid4().hex[:8]}"

    detail_path = open_customer_file(
        page, name=name, search=reference, hidden_text=other_teams_reference
    )
    log_a_call(page, detail_path=detail_path, summary=summary)
    read_the_file_in_chinese(page, detail_path=detail_path, name=name, summary=summary)
    page.screenshot(path=SCREENSHOT, full_page=True)

    log_out_to_the_chinese_login(page)

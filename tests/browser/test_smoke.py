"""One journey through the real site in a real browser: log in as a sales rep,
find a customer, log a call on their file, and read the page in both languages."""

import datetime as dt
import re
import uuid

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from customers.models import Interaction

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "rep-smoke-pass-2026"
SCREENSHOT = "/tmp/crm-smoke.png"


def log_in(page, username, password):
    page.goto("/")
    expect(page).to_have_url(re.compile(re.escape(reverse("login"))))
    login_form = page.locator("form:has(input[name=username])")
    login_form.locator("input[name=username]").fill(username)
    login_form.locator("input[name=password]").fill(password)
    login_form.locator("[type=submit]").click()
    expect(page).not_to_have_url(re.compile(re.escape(reverse("login"))))


def test_rep_finds_customer_logs_a_call_and_reads_the_file_in_both_languages(page, cast):
    cast.rep.set_password(PASSWORD)
    cast.rep.save()
    customer = cast.rep_customer
    summary = f"电话回访：客户要求下周送样品 {uuid.uuid4().hex[:8]}"

    log_in(page, "rep", PASSWORD)

    page.goto(reverse("customer-list"))
    links = page.locator("a.customer-link")
    expect(links.filter(has_text=customer.name)).to_have_count(1)
    expect(page.locator("#customer-table")).not_to_contain_text(cast.outsider_customer.name)
    search = page.locator("#customer-filter input[name=q]")
    search.fill("锦江")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q="))
    expect(links.filter(has_text=customer.name)).to_have_count(1)
    expect(page.locator("#customer-table")).not_to_contain_text(cast.outsider_customer.name)

    links.filter(has_text=customer.name).click()
    expect(page).to_have_url(re.compile(re.escape(reverse("customer-detail", args=[customer.pk]))))

    page.locator("#log-interaction").click()
    form = page.locator("#interaction-form")
    expect(form).to_be_visible()
    form.locator("select[name=channel]").select_option("phone")
    form.locator("textarea[name=summary]").fill(summary)
    form.locator("[name=outcome]").fill("客户同意试用")
    follow_up = dt.date.today() + dt.timedelta(days=7)
    form.locator("input[name=next_follow_up]").fill(follow_up.isoformat())
    form.locator("[type=submit]").click()

    expect(page).to_have_url(re.compile(re.escape(reverse("customer-detail", args=[customer.pk]))))
    expect(page.locator("#panel-interactions")).to_contain_text(summary)
    logged = Interaction.objects.get(summary=summary)
    assert (logged.customer, logged.staff, logged.channel) == (customer, cast.rep, "phone")
    assert logged.next_follow_up == follow_up

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#log-interaction")).to_have_text(re.compile("Log an interaction"))
    page.locator("select[name=language]").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(re.compile(re.escape(reverse("customer-detail", args=[customer.pk]))))
    expect(page.locator("#log-interaction")).not_to_have_text(re.compile("Log an interaction"))
    expect(page.locator("body")).to_contain_text(customer.name)
    expect(page.locator("#panel-interactions")).to_contain_text(summary)
    page.screenshot(path=SCREENSHOT, full_page=True)

    # The choice outlives the session: the login page after logging out is Chinese
    # (its labels come from Django's own catalogue).
    page.locator("form[action$='/logout/'] [type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("login"))))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#login-form")).to_contain_text("用户名")

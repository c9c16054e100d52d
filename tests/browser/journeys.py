"""A sales rep's journey through the site, in steps that assert what the rep sees.

The smoke test walks it on the live server with its own cast; the production
pass walks it on gunicorn with the demo data (`site_journey.py`). Pages are
reached by their real URLs and links, in the browser's language (English)
until the rep switches to Chinese."""

import datetime as dt
import re

from django.urls import reverse
from playwright.sync_api import expect


def log_in(page, username, password):
    page.goto("/")
    expect(page).to_have_url(re.compile(re.escape(reverse("login"))))
    login_form = page.locator("form:has(input[name=username])")
    login_form.locator("input[name=username]").fill(username)
    login_form.locator("input[name=password]").fill(password)
    login_form.locator("[type=submit]").click()
    expect(page).not_to_have_url(re.compile(re.escape(reverse("login"))))


def open_customer_file(page, *, name, search, hidden_text):
    """Find the customer `name` in the list, by `search` too, never seeing `hidden_text`
    (another team's customer's name or reference); open their file, return its path."""
    page.goto(reverse("customer-list"))
    links = page.locator("a.customer-link")
    expect(links.filter(has_text=name)).to_have_count(1)
    expect(page.locator("#customer-table")).not_to_contain_text(hidden_text)
    search_box = page.locator("#customer-filter input[name=q]")
    search_box.fill(search)
    search_box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q="))
    expect(links.filter(has_text=name)).to_have_count(1)
    expect(page.locator("#customer-table")).not_to_contain_text(hidden_text)

    detail_path = links.filter(has_text=name).get_attribute("href")
    links.filter(has_text=name).click()
    expect(page).to_have_url(re.compile(re.escape(detail_path)))
    return detail_path


def log_a_call(page, *, detail_path, summary):
    """Log a phone call with a follow-up in a week on the open file; return that date."""
    page.locator("#log-interaction").click()
    form = page.locator("#interaction-form")
    expect(form).to_be_visible()
    form.locator("select[name=channel]").select_option("phone")
    form.locator("textarea[name=summary]").fill(summary)
    form.locator("[name=outcome]").fill("客户同意试用")
    follow_up = dt.date.today() + dt.timedelta(days=7)
    form.locator("input[name=next_follow_up]").fill(follow_up.isoformat())
    form.locator("[type=submit]").click()

    expect(page).to_have_url(re.compile(re.escape(detail_path)))
    expect(page.locator("#panel-interactions")).to_contain_text(summary)
    return follow_up


def read_the_file_in_chinese(page, *, detail_path, name, summary):
    """Switch the open file from English to Chinese; the page and the call stay."""
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#log-interaction")).to_have_text(re.compile("Log an interaction"))
    page.locator("select[name=language]").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(re.compile(re.escape(detail_path)))
    expect(page.locator("#log-interaction")).not_to_have_text(re.compile("Log an interaction"))
    expect(page.locator("body")).to_contain_text(name)
    expect(page.locator("#panel-interactions")).to_contain_text(summary)


def log_out_to_the_chinese_login(page):
    """The language choice outlives the session: the login page after logging out is
    Chinese (its labels come from Django's own catalogue)."""
    page.locator("form[action$='/logout/'] [type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("login"))))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#login-form")).to_contain_text("用户名")

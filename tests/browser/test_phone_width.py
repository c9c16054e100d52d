"""The customer list and file at a phone's width (390 × 844): the list's filters fold away
until asked for, nothing widens the page, and the file's short facts come first."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.journeys import log_in
from tests.factories import (
    ComplaintFactory,
    ContactFactory,
    CustomerFactory,
    InteractionFactory,
    InvoiceFactory,
    OrderFactory,
    PaymentFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "rep-phone-pass-2026"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-US", viewport=PHONE)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def busy_customer(cast):
    """A distributor with a full file: records in every panel, long names and references."""
    customer = cast.rep_customer
    customer.channel_role = "general_distributor"
    customer.address = "上海市黄浦区南京东路一千二百三十四号国际贸易中心大厦二十八楼"
    customer.save()
    CustomerFactory(owner=cast.rep, team=cast.east, parent=customer, name="上海某某超级市场连锁")
    ContactFactory(customer=customer, email="purchasing.department@jinjiang-hotels.example.com")
    for number in range(3):
        OrderFactory(customer=customer, external_ref=f"ORDER-2026-LONG-REFERENCE-{number:06d}")
        invoice = InvoiceFactory(customer=customer, external_ref=f"INVOICE-2026-LONG-{number:06d}")
        PaymentFactory(invoice=invoice)
        InteractionFactory(customer=customer, summary="电话回访，客户要求下周送样品并确认价格")
    ComplaintFactory(customer=customer)
    return customer


# Elements sticking out past the screen's right edge, outside any scrolling box.
STICKING_OUT = """() => [...document.querySelectorAll("body *")].filter((element) => {
  for (let box = element.parentElement; box; box = box.parentElement) {
    if (getComputedStyle(box).overflowX !== "visible") return false;
  }
  return element.getBoundingClientRect().right > window.innerWidth + 0.5;
}).slice(0, 5).map((element) => element.tagName + "." + element.className)"""


def page_fits_the_screen(page):
    """No horizontal page overflow; on failure, the elements sticking out."""
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, page.evaluate(STICKING_OUT)
    return fits


def test_list_filters_fold_away_and_the_page_fits_a_phone(phone_page, cast, busy_customer):
    cast.rep.set_password(PASSWORD)
    cast.rep.save()
    log_in(phone_page, "rep", PASSWORD)
    phone_page.goto(reverse("customer-list"))
    filters = phone_page.locator("#customer-filter")
    expect(phone_page.locator("#customer-table")).to_be_visible()
    expect(filters).to_be_hidden()
    assert page_fits_the_screen(phone_page)

    phone_page.locator("#filter-toggle").click()
    expect(filters).to_be_visible()
    assert page_fits_the_screen(phone_page)


def test_customer_file_fits_a_phone_with_facts_first_and_histories_last(
    phone_page, cast, busy_customer
):
    cast.rep.set_password(PASSWORD)
    cast.rep.save()
    log_in(phone_page, "rep", PASSWORD)
    phone_page.goto(reverse("customer-detail", args=[busy_customer.pk]))
    expect(phone_page.locator("#panel-orders")).to_be_visible()
    assert page_fits_the_screen(phone_page)

    def top(selector):
        return phone_page.locator(selector).bounding_box()["y"]

    assert top("#customer-summary") < top("#panel-credit") < top("#panel-contacts")
    assert top("#panel-contacts") < top("#panel-interactions") < top("#panel-orders")
    assert top("#panel-orders") < top("#panel-history")


def test_wide_screen_keeps_filters_open_and_two_columns(page, cast, busy_customer):
    cast.rep.set_password(PASSWORD)
    cast.rep.save()
    log_in(page, "rep", PASSWORD)
    page.goto(reverse("customer-list"))
    expect(page.locator("#customer-filter")).to_be_visible()
    expect(page.locator("#filter-toggle")).to_be_hidden()
    page.goto(reverse("customer-detail", args=[busy_customer.pk]))
    main = page.locator("#panel-interactions").bounding_box()
    side = page.locator("#panel-credit").bounding_box()
    assert side["x"] > main["x"] + main["width"] - 1

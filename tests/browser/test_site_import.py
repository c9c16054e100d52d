"""The site's import flow in chromium, in English and in Chinese: a manager opens the import
page from the navigation, uploads a file of customers, sees how its header was read, imports
it skipping bad rows (the job runs in-process, as in the embedded mode), follows the job to
its end and downloads the rejects; another team's customer in the file is left alone."""

import re

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from tests.browser.journeys import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_tasks", "private_media"),
]

PASSWORD = "manager-import-pass-2026"
WORDS = {
    "en": {"checked": "Rows checked", "result": "Result"},
    "zh-hans": {"checked": "已检查行数", "result": "执行情况"},
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_manager_imports_customers_from_the_site_page(page, cast, language):
    cast.manager.set_password(PASSWORD)
    cast.manager.save()
    outsider = cast.outsider_customer
    content = (
        "客户编号,客户名称,区域\n"
        "N-100,苏州新开超市,苏州\n"
        f"{outsider.external_ref},改了别组的客户,成都\n"
    ).encode()
    log_in(page, "manager", PASSWORD)
    if language != "en":
        page.locator("select[name=language]").select_option(language)
        expect(page.locator("html")).to_have_attribute("lang", language)

    page.locator("a.nav-link[href='/imports/']").click()
    expect(page).to_have_url(re.compile(r"/imports/$"))
    form = page.locator("#import-form")
    form.locator("select[name=kind]").select_option("customers")
    form.locator("input[name=file]").set_input_files(
        {"name": "customers.csv", "mimeType": "text/csv", "buffer": content}
    )
    form.locator("[type=submit]").click()

    expect(page.locator("#import-columns")).to_contain_text("customer_ref")
    expect(page.locator("#import-head")).to_contain_text("苏州新开超市")
    page.locator("#id_skip_invalid").check()
    page.locator("#import-now").click()

    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))
    expect(page.locator("#import-status.import-done")).to_be_visible()
    expect(page.locator("#import-progress")).to_contain_text(WORDS[language]["checked"])
    expect(page.locator("#rows-checked")).to_have_text("2")
    expect(page.locator("#rows-written")).to_have_text("1")
    expect(page.locator("body")).to_contain_text(WORDS[language]["result"])
    with page.expect_download() as download:
        page.locator("#import-rejects").click()
    rejects = download.value.path().read_text(encoding="utf-8-sig")
    assert outsider.external_ref in rejects

    created = Customer.objects.get(external_ref="N-100")
    assert (created.owner, created.team) == (cast.manager, cast.east)
    outsider.refresh_from_db()
    assert outsider.name == "成都红旗连锁"

    page.locator("a[href='/imports/']").last.click()
    expect(page.locator("#import-jobs")).to_contain_text("customers.csv")

"""The admin import pages: upload, preview (a dry run), confirm.

The pages are mounted here on an admin site of their own, so that these tests
depend only on the import mixin, not on how customers/admin.py registers models.
"""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.auth.views import LoginView
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponseForbidden
from django.urls import path

from customers.admin_imports import SESSION_KEY, ImportMixin
from customers.models import Customer, ImportJob, Invoice, Order, Payment
from tests.factories import CustomerFactory, UserFactory

site = admin.AdminSite(name="admin")
for model, kind in [
    (Customer, "customers"),
    (Order, "orders"),
    (Invoice, "invoices"),
    (Payment, "payments"),
]:
    model_admin = type(f"{model.__name__}Admin", (ImportMixin, admin.ModelAdmin), {})
    model_admin.import_kind = kind
    site.register(model, model_admin)

urlpatterns = [
    path("admin/", site.urls),
    path("accounts/login/", LoginView.as_view(), name="login"),
]


def refused(request, exception=None):
    # The site's 403 page links to the site's pages, which are not mounted here.
    return HttpResponseForbidden()


handler403 = refused

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls(__name__),
    pytest.mark.usefixtures("eager_tasks"),
]

IMPORT_URL = "/admin/customers/order/import/"
CONFIRM_URL = "/admin/customers/order/import/confirm/"
GOOD_ORDERS = "customer_ref,order_ref,order_date,amount,quantity\nC1,O-1,2026-01-15,10,1\n"
ORDERS_WITH_ERROR = GOOD_ORDERS + "C1,O-2,2026-01-32,10,1\nGHOST,O-3,2026-01-17,10,1\n"


@pytest.fixture
def shop(cast):
    return CustomerFactory(external_ref="C1")


@pytest.fixture
def admin_client(client_for, cast, private_media):
    return client_for(cast.admin)


def upload(client, content, name="orders.csv", kind="orders"):
    if isinstance(content, str):
        content = content.encode()
    return client.post(IMPORT_URL, {"kind": kind, "file": SimpleUploadedFile(name, content)})


def stored_uploads(media_root):
    directory = media_root / "imports"
    return list(directory.iterdir()) if directory.exists() else []


def token_of(preview):
    return preview.context["confirm"].initial["token"]


def confirm(client, preview, **extra):
    return client.post(CONFIRM_URL, {"token": token_of(preview), **extra})


def run_job(client, url, data, capture):
    """Post what starts a job, let it run (tasks run in-process here), open its page."""
    with capture(execute=True):
        started = client.post(url, data)
    assert started.status_code == 302
    return client.get(started.url)


def download_rejects(client, job_page):
    response = client.get(f"{job_page.wsgi_request.path}rejects/")
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_changelist_links_to_the_import_page(admin_client):
    response = admin_client.get("/admin/customers/order/")

    assert IMPORT_URL in response.content.decode()


def test_import_page_offers_every_kind_and_lists_columns(admin_client):
    response = admin_client.get(IMPORT_URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="orders" selected' in page
    assert "customer_ref, invoice_ref, paid_date, amount" in page


def test_preview_shows_the_columns_read_and_the_first_rows_and_changes_nothing(admin_client, shop):
    response = upload(admin_client, ORDERS_WITH_ERROR)

    assert response.status_code == 200
    page = response.content.decode()
    assert ("order_ref", "order_ref") in response.context["header_columns"]
    assert "O-3" in page and "2026-01-32" in page
    assert 'name="check_only"' in page
    assert not Order.objects.exists()
    assert not ImportJob.objects.exists()


def test_preview_reads_chinese_headers_as_the_documented_columns(admin_client, shop):
    response = upload(admin_client, "客户编号,下单日期,金额,数量\nC1,2026-01-15,10,1\n")

    assert ("客户编号", "customer_ref") in response.context["header_columns"]


def test_preview_heads_the_line_numbers_in_the_readers_language(admin_client, shop):
    admin_client.cookies["django_language"] = "zh-hans"
    response = upload(admin_client, ORDERS_WITH_ERROR)
    assert response.context["head_columns"][0] == "行号"
    assert "order_date" in response.context["head_columns"]


def test_confirm_starts_a_job_that_imports_the_file_and_removes_it(
    admin_client, shop, private_media, django_capture_on_commit_callbacks
):
    preview = upload(admin_client, GOOD_ORDERS)

    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(admin_client, preview)

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == f"/admin/customers/order/import/jobs/{job.pk}/"
    assert job.status == ImportJob.Status.DONE
    assert Order.objects.get().external_ref == "O-1"
    assert stored_uploads(private_media) == []
    assert admin_client.session[SESSION_KEY] == {}


def test_confirm_of_a_file_with_errors_imports_nothing_unless_told_to_skip(
    admin_client, shop, django_capture_on_commit_callbacks
):
    preview = upload(admin_client, ORDERS_WITH_ERROR)

    with django_capture_on_commit_callbacks(execute=True):
        started = confirm(admin_client, preview)
    refused = admin_client.get(started.url)

    page = refused.content.decode()
    assert "Nothing was imported: 2 rows have errors." in page
    assert "Rows with errors: 2" in page
    assert not Order.objects.exists()

    again = run_job(
        admin_client,
        f"{refused.wsgi_request.path}again/",
        {"skip_invalid": "on"},
        django_capture_on_commit_callbacks,
    )

    assert "New rows recorded: 1" in again.content.decode()
    assert list(Order.objects.values_list("external_ref", flat=True)) == ["O-1"]


def test_check_only_counts_what_the_import_would_do_and_writes_nothing(
    admin_client, shop, django_capture_on_commit_callbacks
):
    preview = upload(admin_client, ORDERS_WITH_ERROR)

    checked = run_job(
        admin_client,
        CONFIRM_URL,
        {"token": token_of(preview), "check_only": "Check only"},
        django_capture_on_commit_callbacks,
    )

    page = checked.content.decode()
    assert "What the import would do" in page
    assert "New rows recorded: 1" in page and "Rows with errors: 2" in page
    assert "“2026-01-32” is not a date" in download_rejects(admin_client, checked)
    assert not Order.objects.exists()
    assert checked.context["again"] is not None


def test_customers_imported_in_admin_record_who_imported_them(
    admin_client, cast, django_capture_on_commit_callbacks
):
    preview = upload(admin_client, "customer_ref,name\nNEW-1,新客户\n", kind="customers")

    done = run_job(
        admin_client, CONFIRM_URL, {"token": token_of(preview)}, django_capture_on_commit_callbacks
    )

    assert "Customers created: 1" in done.content.decode()
    customer = Customer.objects.get(external_ref="NEW-1")
    assert customer.history.get().history_user == cast.admin


def test_xlsx_upload_is_previewed(admin_client, shop, tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["customer_ref", "order_date", "amount", "quantity"])
    workbook.active.append(["C1", "2026-01-15", 12.5, 2])
    workbook.save(tmp_path / "orders.xlsx")

    response = upload(admin_client, (tmp_path / "orders.xlsx").read_bytes(), name="orders.xlsx")

    assert "12.5" in response.content.decode()
    assert response.context["confirm"] is not None


def test_upload_larger_than_the_limit_is_refused_with_the_limit_named(
    admin_client, shop, private_media, settings
):
    settings.IMPORT_UPLOAD_MAX_BYTES = 1024 * 1024
    response = upload(admin_client, GOOD_ORDERS + "C1,,2026-01-15,10,1\n" * 60_000)

    assert "The file is larger than 1 MB." in response.content.decode()
    assert stored_uploads(private_media) == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("orders.txt", GOOD_ORDERS, "Only .csv and .xlsx files can be imported."),
        ("orders.csv", "", "The submitted file is empty."),
        ("orders.csv", "customer_ref,order_date,amount,quantity\n", "no rows to import"),
        ("orders.csv", "customer_ref,amount\nC1,10\n", "lacks the required columns order_date"),
        ("orders.csv", "customer_ref\n上海".encode("gbk"), "not UTF-8"),
        ("orders.xlsx", b"PK\x03\x04 broken", "not a readable Excel"),
    ],
)
def test_bad_upload_shows_the_form_again_with_the_reason(
    admin_client, shop, private_media, name, content, message
):
    response = upload(admin_client, content, name=name)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["form"].errors
    assert stored_uploads(private_media) == []


def test_confirm_with_an_unknown_token_imports_nothing(admin_client, shop):
    response = admin_client.post(CONFIRM_URL, {"token": "0" * 32})

    assert response.status_code == 302
    assert response.url == IMPORT_URL
    assert not Order.objects.exists()


def test_confirm_needs_a_post(admin_client):
    assert admin_client.get(CONFIRM_URL).status_code == 405


def test_regular_user_is_sent_to_the_admin_login(client_for, cast, shop, private_media):
    client = client_for(cast.rep)

    page = client.get(IMPORT_URL)
    posted = upload(client, GOOD_ORDERS)

    assert page.status_code == posted.status_code == 302
    assert page.url.startswith("/admin/login/")
    assert stored_uploads(private_media) == []
    assert not Order.objects.exists()


def test_staff_without_add_permission_is_refused(client_for, private_media):
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))

    assert client_for(clerk).get(IMPORT_URL).status_code == 403


def test_staff_may_import_only_the_kinds_they_may_add(client_for, private_media):
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="add_payment"))

    response = client_for(clerk).get(IMPORT_URL)

    assert [kind for kind, _label in response.context["form"].fields["kind"].choices] == [
        "payments"
    ]

"""Imports from the site's page: upload, header check, check only or import, the job's page.
Tasks run in-process (`eager_tasks`), on whichever database the suite runs on; the import
is bounded to the customers the uploader may see."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.imports.uploads import SESSION_KEY
from customers.models import Customer, ImportJob, Order
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks", "private_media")]

UPLOAD = "/imports/"
START = "/imports/start/"


def upload(client, content, *, kind="customers", name="file.csv"):
    if isinstance(content, str):
        content = content.encode()
    return client.post(UPLOAD, {"kind": kind, "file": SimpleUploadedFile(name, content)})


def run(client, capture, content, *, kind="customers", **options):
    """Upload, start the job (it runs in-process once the request commits), open its page."""
    preview = upload(client, content, kind=kind)
    assert preview.status_code == 200, preview.content.decode()
    token = preview.context["confirm"].initial["token"]
    with capture(execute=True):
        started = client.post(START, {"token": token, **options})
    assert started.status_code == 302
    assert started.url.startswith("/imports/")
    return client.get(started.url)


def stored_uploads(media_root):
    directory = media_root / "imports"
    return list(directory.iterdir()) if directory.exists() else []


def orders_for(*customers):
    lines = ["customer_ref,order_ref,order_date,amount,quantity"]
    lines += [f"{c.external_ref},O-{i},2026-01-1{i},10.50,1" for i, c in enumerate(customers)]
    return "\n".join(lines) + "\n"


# The page and who may use it ---------------------------------------------------------------


def test_navigation_and_customer_list_link_to_the_import_page(client_for, cast):
    page = client_for(cast.rep).get("/customers/").content.decode()

    assert 'href="/imports/"' in page and 'id="import-link"' in page


def test_rep_is_offered_customers_only_and_a_manager_every_kind(client_for, cast):
    rep_page = client_for(cast.rep).get(UPLOAD)
    kinds = [value for value, _label in rep_page.context["form"].fields["kind"].choices]
    assert kinds == ["customers"]

    manager_page = client_for(cast.manager).get(UPLOAD)
    kinds = [value for value, _label in manager_page.context["form"].fields["kind"].choices]
    assert kinds == ["customers", "orders", "invoices", "payments"]


def test_rep_cannot_upload_orders(client_for, cast, private_media):
    response = upload(client_for(cast.rep), orders_for(cast.rep_customer), kind="orders")

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert stored_uploads(private_media) == []


def test_signed_out_visitor_is_sent_to_the_login_page(client):
    response = client.get(UPLOAD)

    assert response.status_code == 302 and "/login/" in response.url


# The whole flow ----------------------------------------------------------------------------


def test_manager_imports_orders_and_the_job_page_shows_progress_counts_and_rejects(
    client_for, cast, django_capture_on_commit_callbacks
):
    client = client_for(cast.manager)
    content = orders_for(cast.rep_customer, cast.teammate_customer) + (
        f"{cast.rep_customer.external_ref},O-9,2026-01-32,10,1\n"
    )
    preview = upload(client, content, kind="orders")
    assert ("order_ref", "order_ref") in preview.context["header_columns"]
    assert "2026-01-32" in preview.content.decode()
    assert not Order.objects.exists()

    page = run(
        client, django_capture_on_commit_callbacks, content, kind="orders", skip_invalid="on"
    )

    job = ImportJob.objects.filter(dry_run=False).get()
    assert (job.status, job.within_scope, job.created_by) == ("done", True, cast.manager)
    assert (job.rows_checked, job.rows_written) == (3, 2)
    text = page.content.decode()
    assert 'id="rows-checked">3<' in text and 'id="rows-written">2<' in text
    assert "New rows recorded: 2" in text and "Rows with errors: 1" in text
    assert 'http-equiv="refresh"' not in text
    assert Order.objects.filter(customer=cast.rep_customer).count() == 1
    rejects = client.get(f"/imports/{job.pk}/rejects/")
    assert rejects.status_code == 200
    body = b"".join(rejects.streaming_content).decode("utf-8-sig")
    assert "O-9,2026-01-32" in body and ",4,order_date," in body


def test_check_only_writes_nothing_and_offers_the_import(
    client_for, cast, django_capture_on_commit_callbacks
):
    client = client_for(cast.manager)

    page = run(
        client,
        django_capture_on_commit_callbacks,
        orders_for(cast.rep_customer),
        kind="orders",
        check_only="1",
    )

    assert "What the import would do" in page.content.decode()
    assert page.context["again"] is not None
    assert not Order.objects.exists()
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"/imports/{job.pk}/again/", {})
    assert again.status_code == 302
    assert Order.objects.filter(customer=cast.rep_customer).count() == 1
    assert ImportJob.objects.filter(dry_run=False).get().within_scope


def test_a_running_job_page_reloads_itself(client_for, cast):
    job = ImportJob.objects.create(
        kind="customers", source_name="a.csv", stored_name="x.csv", created_by=cast.rep
    )

    page = client_for(cast.rep).get(f"/imports/{job.pk}/").content.decode()

    assert '<meta http-equiv="refresh" content="3">' in page
    assert "Waiting for a worker" in page


def test_job_page_lists_likely_duplicates(client_for, cast, django_capture_on_commit_callbacks):
    cast.rep_customer.phone = "138 0013 8000"
    cast.rep_customer.save()

    page = run(
        client_for(cast.rep),
        django_capture_on_commit_callbacks,
        "customer_ref,name,phone\nN-1,上海新锦江,13800138000\n",
    )

    text = page.content.decode()
    assert 'id="import-warnings"' in text
    assert cast.rep_customer.external_ref in text
    assert Customer.objects.filter(external_ref="N-1").exists()


def test_my_recent_imports_are_listed_but_not_others(client_for, cast):
    mine = ImportJob.objects.create(
        kind="customers", source_name="mine.csv", stored_name="a.csv", created_by=cast.rep
    )
    ImportJob.objects.create(
        kind="customers", source_name="theirs.csv", stored_name="b.csv", created_by=cast.teammate
    )

    page = client_for(cast.rep).get(UPLOAD).content.decode()

    assert f'href="/imports/{mine.pk}/"' in page and "theirs.csv" not in page


# Scope: an import touches only what its uploader may see --------------------------------------


def test_rep_import_cannot_change_another_teams_customer(
    client_for, cast, django_capture_on_commit_callbacks
):
    outsider = cast.outsider_customer
    content = f"customer_ref,name\n{cast.rep_customer.external_ref},锦江新名\n{outsider.external_ref},被改名\n"

    page = run(client_for(cast.rep), django_capture_on_commit_callbacks, content)

    job = ImportJob.objects.get()
    assert job.status == "failed" and job.counts["rejected"] == 1
    assert "Nothing was imported" in page.content.decode()
    outsider.refresh_from_db()
    cast.rep_customer.refresh_from_db()
    assert outsider.name == "成都红旗连锁" and cast.rep_customer.name == "上海锦江酒店"
    rejects = b"".join(
        client_for(cast.rep).get(f"/imports/{job.pk}/rejects/").streaming_content
    ).decode("utf-8-sig")
    assert "is handled by others" in rejects


def test_skipping_bad_rows_still_leaves_another_teams_customer_alone(
    client_for, cast, django_capture_on_commit_callbacks
):
    outsider = cast.outsider_customer
    content = f"customer_ref,name\n{cast.rep_customer.external_ref},锦江新名\n{outsider.external_ref},被改名\n"

    run(client_for(cast.rep), django_capture_on_commit_callbacks, content, skip_invalid="on")

    outsider.refresh_from_db()
    cast.rep_customer.refresh_from_db()
    assert outsider.name == "成都红旗连锁" and cast.rep_customer.name == "锦江新名"


def test_reps_new_customers_are_theirs_and_cannot_be_handed_to_another_team(
    client_for, cast, django_capture_on_commit_callbacks
):
    content = (
        "customer_ref,name,owner,team,parent_ref\n"
        "N-1,新客户一,,,\n"
        f"N-2,新客户二,outsider,,\n"
        f"N-3,新客户三,,{cast.west.name},\n"
        f"N-4,新客户四,,,{cast.outsider_customer.external_ref}\n"
    )

    page = run(client_for(cast.rep), django_capture_on_commit_callbacks, content, skip_invalid="on")

    created = Customer.objects.get(external_ref="N-1")
    assert (created.owner, created.team) == (cast.rep, cast.east)
    assert not Customer.objects.filter(external_ref__in=["N-2", "N-3", "N-4"]).exists()
    assert "Rows with errors: 3" in page.content.decode()


def test_manager_import_of_another_teams_orders_is_refused(
    client_for, cast, django_capture_on_commit_callbacks
):
    content = orders_for(cast.rep_customer, cast.outsider_customer)

    run(client_for(cast.manager), django_capture_on_commit_callbacks, content, kind="orders")

    job = ImportJob.objects.get()
    assert job.status == "failed" and job.counts["rejected"] == 1
    assert not Order.objects.exists()


def test_an_admin_on_the_site_imports_for_every_team(
    client_for, cast, django_capture_on_commit_callbacks
):
    content = orders_for(cast.rep_customer, cast.outsider_customer)

    run(client_for(cast.admin), django_capture_on_commit_callbacks, content, kind="orders")

    assert Order.objects.filter(customer=cast.outsider_customer).count() == 1


# Whose job pages ------------------------------------------------------------------------------


def test_job_page_and_rejects_are_the_uploaders_and_superusers_only(
    client_for, cast, django_capture_on_commit_callbacks
):
    content = f"customer_ref,name\n{cast.outsider_customer.external_ref},x\n"
    run(client_for(cast.rep), django_capture_on_commit_callbacks, content)
    job = ImportJob.objects.get()

    for user in (cast.teammate, cast.manager, cast.outsider):
        client = client_for(user)
        assert client.get(f"/imports/{job.pk}/").status_code == 404
        assert client.get(f"/imports/{job.pk}/rejects/").status_code == 404
        assert client.post(f"/imports/{job.pk}/again/", {}).status_code == 404
    admin = client_for(cast.admin)
    assert admin.get(f"/imports/{job.pk}/").status_code == 200
    assert admin.get(f"/imports/{job.pk}/rejects/").status_code == 200


def test_another_sessions_upload_token_starts_nothing(client_for, cast, private_media):
    preview = upload(client_for(cast.rep), "customer_ref,name\nN-1,新客户\n")
    token = preview.context["confirm"].initial["token"]

    response = client_for(cast.teammate).post(START, {"token": token}, follow=True)

    assert "no longer available" in response.content.decode()
    assert not ImportJob.objects.exists()


# Bad input: a clear message, nothing written ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "customers.txt",
            "customer_ref,name\nN-1,x\n",
            "Only .csv and .xlsx files can be imported.",
        ),
        ("customers.csv", "", "The submitted file is empty."),
        ("customers.csv", "\n\n", "The file is empty."),
        ("customers.csv", "customer_ref,name\n", "The file has no rows to import."),
        (
            "customers.csv",
            "customer_ref,nmae\nN-1,x\n",
            "The column “nmae” is not one this import knows; did you mean “name”?",
        ),
        ("customers.csv", "customer_ref\nN-1\n", "The file lacks the required columns name"),
        ("customers.xlsx", "not a workbook", "xlsx"),
        ("customers.csv", b"customer_ref,name\nN-1,\xff\xfe\n", "UTF-8"),
    ],
)
def test_a_bad_file_is_refused_with_a_message_and_nothing_kept(
    client_for, cast, private_media, name, content, message
):
    if isinstance(content, str):
        content = content.encode()
    response = client_for(cast.rep).post(
        UPLOAD, {"kind": "customers", "file": SimpleUploadedFile(name, content)}
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert stored_uploads(private_media) == []
    assert not ImportJob.objects.exists()
    assert SESSION_KEY not in client_for(cast.rep).session


def test_a_file_over_the_limit_is_refused(client_for, cast, private_media, settings):
    settings.IMPORT_UPLOAD_MAX_BYTES = 2 * 1024 * 1024
    content = b"customer_ref,name\n" + b"N-1,x\n" * 400_000

    response = upload(client_for(cast.rep), content)

    assert "The file is larger than 2 MB" in response.content.decode()
    assert stored_uploads(private_media) == []


def test_no_file_or_no_kind_is_asked_for_again(client_for, cast, private_media):
    response = client_for(cast.rep).post(UPLOAD, {"kind": "customers"})

    assert response.status_code == 200 and "This field is required." in response.content.decode()


def test_start_without_a_token_sends_back_to_the_upload(client_for, cast):
    response = client_for(cast.rep).post(START, {})

    assert response.status_code == 302 and response.url == UPLOAD
    assert not ImportJob.objects.exists()


def test_get_on_start_and_again_is_refused(client_for, cast):
    client = client_for(cast.rep)

    assert client.get(START).status_code == 405
    assert client.get("/imports/1/again/").status_code == 405


# Query counts ------------------------------------------------------------------------------


def test_job_page_query_count_is_pinned(
    client_for, cast, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client = client_for(cast.rep)
    run(client, django_capture_on_commit_callbacks, "customer_ref,name\nN-1,新客户\n")
    job = ImportJob.objects.get()
    CustomerFactory.create_batch(5, owner=cast.rep, team=cast.east)

    # session, user, the job with its uploader; the navigation's roles: the user's and their
    # groups' permissions, the teams they lead
    with django_assert_num_queries(6):
        response = client.get(f"/imports/{job.pk}/")
    assert response.status_code == 200


def test_upload_page_query_count_is_pinned(client_for, cast, django_assert_num_queries):
    client = client_for(cast.manager)
    for number in range(15):
        ImportJob.objects.create(
            kind="orders", source_name=f"{number}.csv", stored_name="a.csv", created_by=cast.manager
        )

    # session, user; the roles: the user's and their groups' permissions, the teams they
    # lead; the recent jobs with their uploader
    with django_assert_num_queries(6):
        response = client.get(UPLOAD)
    assert len(response.context["jobs"]) == 10


def test_an_invoice_of_a_customer_out_of_scope_is_refused_without_naming_it(
    cast, tmp_path, settings
):
    from customers.imports.services import import_invoices
    from tests.factories import InvoiceFactory

    InvoiceFactory(customer=cast.outsider_customer, external_ref="INV-1")
    source = tmp_path / "invoices.csv"
    source.write_text(
        "customer_ref,invoice_ref,issue_date,due_date,amount\n"
        f"{cast.rep_customer.external_ref},INV-1,2026-01-01,2026-02-01,100\n"
        f"{cast.outsider_customer.external_ref},INV-2,2026-01-01,2026-02-01,100\n"
    )

    report = import_invoices(source=source, scope=cast.rep)

    reasons = [error.reason for error in report.errors]
    assert reasons == [
        f"Invoice “INV-1” belongs to another customer, not to “{cast.rep_customer.external_ref}”.",
        f"No customer with reference “{cast.outsider_customer.external_ref}” exists.",
    ]
    assert not report.imported

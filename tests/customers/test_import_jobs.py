"""Import jobs: a file uploaded in the admin imported by a task (in-process here, as in
the embedded mode; tests/customers/test_worker.py sends one to a real worker)."""

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from customers import tasks
from customers.imports import services
from customers.imports.jobs import (
    JobProgress,
    close_stale_import_jobs,
    import_job_create,
    import_job_execute,
    uploads_dir,
)
from customers.imports.readers import read_chunks
from customers.imports.services import CHECKING, COMMITTING, WRITING, run_import
from customers.models import Customer, ImportJob, Order
from tests.factories import CustomerFactory, UserFactory

# Tasks run in-process, whether or not the environment names a broker.
pytestmark = pytest.mark.usefixtures("eager_tasks")

ORDERS_IMPORT = "/admin/customers/order/import/"
CUSTOMERS_IMPORT = "/admin/customers/customer/import/"
CONFIRM = "/admin/customers/order/import/confirm/"
ORDERS = (
    "customer_ref,order_ref,order_date,amount,quantity\n"
    "C1,O-1,2026-01-15,10.50,1\n"
    "C1,O-2,2026-01-16,20,2\n"
    "C1,O-3,2026-01-32,10,1\n"
)


@pytest.fixture
def shop(db):
    return CustomerFactory(external_ref="C1")


@pytest.fixture
def clerk(db):
    """A staff user who may import orders, and nothing more."""
    user = UserFactory(username="clerk", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_order"))
    return user


def upload(client, content, *, url=ORDERS_IMPORT, kind="orders", name="orders.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    preview = client.post(url, {"kind": kind, "file": SimpleUploadedFile(name, content.encode())})
    assert preview.status_code == 200, preview.content.decode()
    return preview.context["confirm"].initial["token"]


def start(client, capture, content, **options):
    """Upload, confirm and let the job run; returns the job page."""
    token = upload(client, content)
    with capture(execute=True):
        started = client.post(CONFIRM, {"token": token, **options})
    assert started.status_code == 302
    return client.get(started.url)


def rejects_of(client, page):
    response = client.get(f"{page.wsgi_request.path}rejects/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="orders.rejects.csv"'
    return b"".join(response.streaming_content).decode("utf-8-sig")


@pytest.mark.django_db
def test_upload_confirm_and_job_page_show_the_counts_and_the_rejects(
    client_for, cast, shop, private_media, django_capture_on_commit_callbacks
):
    client = client_for(cast.admin)

    page = start(client, django_capture_on_commit_callbacks, ORDERS, skip_invalid="on")

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.DONE
    assert (job.rows_checked, job.rows_written) == (3, 2)
    assert job.counts == {
        "rows_read": 3,
        "created": 2,
        "updated": 0,
        "already_present": 0,
        "customers_created": 0,
        "rejected": 1,
        "imported": True,
        "warned": 0,
        "warnings": [],
    }
    text = page.content.decode()
    assert "New rows recorded: 2" in text and "Rows with errors: 1" in text
    assert 'http-equiv="refresh"' not in text
    rejects = rejects_of(client, page).splitlines()
    assert rejects[0] == "customer_ref,order_ref,order_date,amount,quantity,line,column,reason"
    assert rejects[1].startswith("C1,O-3,2026-01-32,10,1,4,order_date,")
    assert sorted(Order.objects.values_list("external_ref", flat=True)) == ["O-1", "O-2"]
    assert shop.orders.get(external_ref="O-1").amount == Decimal("10.50")
    # Imported: the upload is gone, the rejects stay.
    assert list(uploads_dir().iterdir()) == []


@pytest.mark.django_db
def test_another_staff_user_gets_404_for_the_job_and_its_rejects_but_a_superuser_sees_them(
    client_for, cast, shop, clerk, private_media, django_capture_on_commit_callbacks
):
    other = UserFactory(username="other-clerk", is_staff=True)
    other.user_permissions.add(Permission.objects.get(codename="add_order"))
    page = start(client_for(clerk), django_capture_on_commit_callbacks, ORDERS)
    job_url = page.wsgi_request.path

    outsider = client_for(other)
    assert outsider.get(job_url).status_code == 404
    assert outsider.get(f"{job_url}rejects/").status_code == 404
    assert outsider.post(f"{job_url}again/", {"skip_invalid": "on"}).status_code == 404
    assert job_url not in outsider.get(ORDERS_IMPORT).content.decode()

    admin = client_for(cast.admin)
    assert admin.get(job_url).status_code == 200
    assert "2026-01-32" in rejects_of(admin, page)
    assert job_url in admin.get(ORDERS_IMPORT).content.decode()


@pytest.mark.django_db
def test_a_rep_is_sent_to_the_admin_login_for_a_job(
    client_for, cast, shop, private_media, django_capture_on_commit_callbacks
):
    page = start(client_for(cast.admin), django_capture_on_commit_callbacks, ORDERS)

    response = client_for(cast.rep).get(page.wsgi_request.path)

    assert response.status_code == 302 and response.url.startswith("/admin/login/")


@pytest.mark.django_db
def test_file_with_bad_rows_fails_writing_nothing_and_can_be_imported_skipping_them(
    client_for, clerk, shop, private_media, django_capture_on_commit_callbacks
):
    client = client_for(clerk)
    page = start(client, django_capture_on_commit_callbacks, ORDERS)

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert job.rows_written == 0
    assert "Nothing was imported: 1 rows have errors." in page.content.decode()
    assert not Order.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"{page.wsgi_request.path}again/", {"skip_invalid": "on"})
    assert "New rows recorded: 2" in client.get(again.url).content.decode()
    assert Order.objects.count() == 2


@pytest.mark.django_db
def test_file_broken_past_its_first_rows_fails_with_the_reason_and_writes_nothing(
    client_for, clerk, shop, private_media, django_capture_on_commit_callbacks
):
    # The preview reads the header and the first rows; the job reads the rest.
    good_rows = "".join(f"C1,N-{number},2026-01-15,10,1\n" for number in range(30))
    broken = ORDERS.replace("C1,O-3,2026-01-32,10,1", good_rows + "C1,O-3,2026-01-17,10,1,x,y")

    page = start(client_for(clerk), django_capture_on_commit_callbacks, broken, skip_invalid="on")

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert job.error.startswith("The file is not valid CSV")
    assert "The file is not valid CSV" in page.content.decode()
    assert page.context["again"] is None
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_job_that_fails_while_writing_writes_nothing(
    client_for, clerk, shop, private_media, monkeypatch, django_capture_on_commit_callbacks
):
    many = "customer_ref,order_date,amount,quantity\n" + "C1,2026-01-15,10,1\n" * 5
    monkeypatch.setattr(services, "read_chunks", lambda source: read_chunks(source, chunk_rows=2))
    written = []

    def record_then_fail(*, rows, staging):
        if written:
            raise RuntimeError("disk full")
        written.append(len(rows))
        return original(rows=rows, staging=staging)

    original = services.OrderImport.record_bulk
    monkeypatch.setattr(services.OrderImport, "record_bulk", staticmethod(record_then_fail))

    page = start(client_for(clerk), django_capture_on_commit_callbacks, many)

    job = ImportJob.objects.get()
    assert written == [2]
    assert job.status == ImportJob.Status.FAILED
    assert (job.rows_checked, job.rows_written) == (5, 0)
    assert "wrote nothing: RuntimeError: disk full" in page.content.decode()
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_job_closed_as_stale_while_it_wrote_commits_nothing(
    client_for, clerk, shop, private_media, monkeypatch, django_capture_on_commit_callbacks
):
    original = services.OrderImport.file_errors

    def check_then_seem_gone(importer, errors):
        # As close_stale_import_jobs does when the heartbeat stalled for too long; the
        # write pass comes next.
        ImportJob.objects.update(status=ImportJob.Status.FAILED, error="closed as stale")
        return original(importer, errors)

    monkeypatch.setattr(services.OrderImport, "file_errors", check_then_seem_gone)

    start(client_for(clerk), django_capture_on_commit_callbacks, ORDERS, skip_invalid="on")

    assert ImportJob.objects.get().error == "closed as stale"
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_importing_the_same_file_twice_adds_nothing(
    client_for, clerk, shop, private_media, django_capture_on_commit_callbacks
):
    client = client_for(clerk)
    good = ORDERS.rsplit("C1,O-3", 1)[0]
    start(client, django_capture_on_commit_callbacks, good)

    page = start(client, django_capture_on_commit_callbacks, good)

    assert ImportJob.objects.first().counts["already_present"] == 2
    assert "Already recorded, skipped: 2" in page.content.decode()
    assert Order.objects.count() == 2


@pytest.mark.django_db
def test_customers_file_in_chinese_words_is_imported_by_a_job(
    client_for, cast, private_media, django_capture_on_commit_callbacks
):
    client = client_for(cast.admin)
    token = upload(
        client, "客户编号,客户名称\nKH-1,新客户\n", url=CUSTOMERS_IMPORT, kind="customers"
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/customers/customer/import/confirm/", {"token": token})

    assert ImportJob.objects.get().status == ImportJob.Status.DONE
    assert Customer.objects.get(external_ref="KH-1").history.get().history_user == cast.admin


# Progress.


def test_import_reports_rows_checked_then_written_after_each_chunk(shop, tmp_path, monkeypatch):
    source = tmp_path / "orders.csv"
    source.write_text("customer_ref,order_date,amount,quantity\n" + "C1,2026-01-15,10,1\n" * 5)
    monkeypatch.setattr(services, "read_chunks", lambda path: read_chunks(path, chunk_rows=2))
    heard = []

    run_import("orders", source=source, progress=lambda stage, rows: heard.append((stage, rows)))

    assert heard == [
        (CHECKING, 2),
        (CHECKING, 4),
        (CHECKING, 5),
        (WRITING, 0),
        (WRITING, 2),
        (WRITING, 4),
        (WRITING, 5),
        (COMMITTING, 5),
    ]


@pytest.mark.django_db(transaction=True)
def test_progress_is_written_by_the_heartbeat_at_once_when_writing_starts(
    settings, clerk, private_media
):
    settings.IMPORT_PROGRESS_SECONDS = 60  # only the change of stage writes here
    job = ImportJob.objects.create(kind="orders", source_name="a.csv", stored_name="x.csv")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CHECKING)
    progress = JobProgress(job)

    with progress.heartbeat:
        progress(CHECKING, 1000)
        progress(WRITING, 10)
        deadline = timezone.now() + dt.timedelta(seconds=20)
        while timezone.now() < deadline:
            job.refresh_from_db()
            if job.status == ImportJob.Status.WRITING:
                break
            time.sleep(0.05)

    assert (job.status, job.rows_checked, job.rows_written) == (ImportJob.Status.WRITING, 1000, 10)


# Stale and unsent jobs.


def running_job(*, silent_for, status=ImportJob.Status.WRITING, **fields):
    values = {
        "kind": "orders",
        "source_name": "orders.csv",
        "stored_name": "gone.csv",
        "status": status,
        "worker": "worker-1 pid 42",
        "heartbeat_at": timezone.now() - silent_for,
        **fields,
    }
    return ImportJob.objects.create(**values)


@pytest.mark.django_db
def test_job_without_heartbeat_is_closed_by_beat_and_its_page_says_so_meanwhile(
    client_for, cast, settings
):
    settings.IMPORT_STALE_AFTER_SECONDS = 120
    job = running_job(silent_for=dt.timedelta(minutes=3), created_by=cast.admin)
    alive = running_job(silent_for=dt.timedelta(seconds=30), created_by=cast.admin)
    client = client_for(cast.admin)

    silent_page = client.get(f"{ORDERS_IMPORT}jobs/{job.pk}/").content.decode()
    alive_page = client.get(f"{ORDERS_IMPORT}jobs/{alive.pk}/").content.decode()
    assert "Its worker (worker-1 pid 42) has given no sign of life since" in silent_page
    assert "no sign of life" not in alive_page

    assert tasks.close_stale_import_jobs_task() == 1

    job.refresh_from_db()
    alive.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert alive.status == ImportJob.Status.WRITING
    page = client.get(f"{ORDERS_IMPORT}jobs/{job.pk}/").content.decode()
    assert "Its worker (worker-1 pid 42) gave no sign of life after" in page
    assert 'http-equiv="refresh"' not in page


@pytest.mark.django_db
def test_queued_job_no_worker_took_up_is_closed_after_an_hour(settings):
    old = running_job(
        silent_for=dt.timedelta(0),
        status=ImportJob.Status.QUEUED,
        created_at=timezone.now() - dt.timedelta(minutes=61),
    )
    recent = running_job(
        silent_for=dt.timedelta(minutes=30),
        status=ImportJob.Status.QUEUED,
        created_at=timezone.now() - dt.timedelta(minutes=30),
    )

    assert tasks.close_stale_import_jobs_task() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == ImportJob.Status.FAILED and "No worker took" in old.error
    assert recent.status == ImportJob.Status.QUEUED
    assert close_stale_import_jobs() == 0


@pytest.mark.django_db
def test_beat_checks_for_stale_import_jobs_every_few_minutes():
    check = PeriodicTask.objects.get(task="customers.close_stale_import_jobs")

    assert check.enabled
    assert check.interval.period == "minutes" and check.interval.every <= 5


@pytest.mark.django_db
def test_job_that_cannot_be_sent_to_a_worker_fails_saying_so(
    queued_tasks,
    client_for,
    clerk,
    shop,
    private_media,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks, "send_to_worker", broker_down)

    page = start(client_for(clerk), django_capture_on_commit_callbacks, ORDERS)

    assert "Not started: the task queue could not be reached" in page.content.decode()
    assert ImportJob.objects.get().status == ImportJob.Status.FAILED


@pytest.mark.django_db
def test_redelivered_task_of_a_finished_job_does_nothing(clerk, shop, private_media):
    (uploads_dir() / "a.csv").write_text(ORDERS)
    job = import_job_create(
        kind="orders",
        stored_name="a.csv",
        source_name="orders.csv",
        skip_invalid=True,
        dry_run=False,
        by=clerk,
    )
    assert import_job_execute(job).status == ImportJob.Status.DONE

    assert tasks.run_import_job_task(job.pk) is None
    assert Order.objects.count() == 2


@pytest.mark.django_db
def test_job_whose_upload_is_gone_fails_asking_for_it_again(clerk, private_media):
    job = import_job_create(
        kind="orders",
        stored_name="gone.csv",
        source_name="orders.csv",
        skip_invalid=False,
        dry_run=False,
        by=clerk,
    )

    job = import_job_execute(job)

    assert job.status == ImportJob.Status.FAILED
    assert job.error == "The uploaded file is no longer kept; upload it again."


@pytest.mark.django_db
def test_job_reports_in_the_uploaders_language(clerk, shop, private_media):
    (uploads_dir() / "a.csv").write_text(ORDERS)
    from django.utils import translation

    with translation.override("zh-hans"):
        job = import_job_create(
            kind="orders",
            stored_name="a.csv",
            source_name="orders.csv",
            skip_invalid=False,
            dry_run=False,
            by=clerk,
        )

    assert "没有导入" in import_job_execute(job).error


# Pages' queries.


@pytest.mark.django_db
def test_job_page_and_upload_page_make_a_fixed_number_of_queries(
    client_for, clerk, shop, private_media, django_assert_num_queries
):
    for number in range(15):
        running_job(silent_for=dt.timedelta(0), created_by=clerk, source_name=f"{number}.csv")
    job = ImportJob.objects.first()
    client = client_for(clerk)
    client.get(ORDERS_IMPORT)  # the session and the user, loaded once

    # session, user, the job with its uploader; then what every
    # admin page asks: the user's and their groups' permissions (the side bar), the grade
    # policies' notice (two), the teams the user manages
    with django_assert_num_queries(8):
        assert client.get(f"{ORDERS_IMPORT}jobs/{job.pk}/").status_code == 200
    # session, user, the user's and their groups' permissions (the kinds they may import),
    # the recent jobs with their uploaders, then the admin's page queries as above
    with django_assert_num_queries(8):
        assert client.get(ORDERS_IMPORT).status_code == 200

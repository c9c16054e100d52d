"""Likely duplicates: the keys, the form's warning (scoped), and the imports' warnings."""

from io import StringIO
from textwrap import dedent

import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from customers.duplicate_keys import name_key, name_keys, phone_key
from customers.duplicates import possible_duplicates
from customers.imports.likely_duplicates import key_hashes, keys_of, within_file
from customers.imports.readers import LINE
from customers.imports.services import import_customers
from customers.models import Customer
from tests.factories import CustomerFactory


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("北京华夏商贸有限公司", "北京华夏商贸"),
        ("北京 华夏（商贸）公司", "北京华夏商贸"),
        ("北京华夏商贸股份有限公司", "北京华夏商贸"),
        ("北京华夏商贸有限责任公司", "北京华夏商贸"),
        ("ＡＢＣ贸易", "abc贸易"),  # full-width letters
        ("Acme Trading Co., Ltd.", "acmetrading"),
        ("Costco", "costco"),  # "co" only as a word of its own
        ("公司", "公司"),  # nothing would be left
        ("", ""),
    ],
)
def test_name_key(name, key):
    assert name_key(name) == key


@pytest.mark.parametrize(
    ("phone", "key"),
    [
        ("138 0013 8000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),  # full-width digits
        ("021-6666 8888", "02166668888"),
        ("1234", ""),  # too short to tell anyone apart
        ("", ""),
    ],
)
def test_phone_key(phone, key):
    assert phone_key(phone) == key


def test_name_keys_keep_missing_names_missing():
    keys = name_keys(pd.Series(["华夏公司", None]))
    assert keys[0] == "华夏" and pd.isna(keys[1])


def test_keys_are_stored_on_save(db):
    customer = CustomerFactory(name="上海 锦江（酒店）有限公司", phone="+86 138 0013 8000")
    customer.refresh_from_db()
    assert (customer.name_key, customer.phone_key) == ("上海锦江酒店", "13800138000")
    customer.name = "锦江宾馆"
    customer.save(update_fields=["name"])
    customer.refresh_from_db()
    assert customer.name_key == "锦江宾馆"


# The site's form -------------------------------------------------------------------------

NEW = {"kind": "company", "channel_role": "terminal", "region": "上海"}


def create(client, **data):
    return client.post(reverse("customer-create"), {**NEW, **data})


def test_same_phone_warns_with_a_link_and_saves_nothing(cast, client_for):
    existing = cast.rep_customer
    response = create(client_for(cast.rep), name="新客户", phone=existing.phone)
    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("customer-detail", args=[existing.pk]) in page
    assert "same phone" in page and "Save anyway" in page
    assert not Customer.objects.filter(name="新客户").exists()


def test_same_normalised_name_in_the_region_warns(cast, client_for):
    existing = CustomerFactory(owner=cast.rep, name="上海华夏商贸有限公司", region="上海")
    response = create(client_for(cast.rep), name="上海 华夏商贸公司", phone="")
    assert [match.pk for match in response.context["form"].duplicates.shown] == [existing.pk]


def test_same_name_in_another_region_is_no_duplicate(cast, client_for):
    CustomerFactory(owner=cast.rep, name="华夏商贸有限公司", region="北京")
    response = create(client_for(cast.rep), name="华夏商贸公司", phone="")
    assert response.status_code == 302


def test_save_anyway_saves_the_customer(cast, client_for):
    client = client_for(cast.rep)
    response = create(client, name="新客户", phone=cast.rep_customer.phone, save_anyway="1")
    assert response.status_code == 302
    assert Customer.objects.filter(name="新客户").exists()


def test_reps_warning_counts_another_teams_customer_without_naming_it(cast, client_for):
    other = cast.outsider_customer
    response = create(client_for(cast.rep), name="新客户", phone=other.phone)
    page = response.content.decode()
    duplicates = response.context["form"].duplicates
    assert (duplicates.shown, duplicates.visible, duplicates.hidden) == ([], 0, 1)
    assert other.name not in page and other.external_ref not in page
    assert reverse("customer-detail", args=[other.pk]) not in page
    assert "1 matching customer is handled by others" in page


def test_manager_sees_the_teams_match_but_not_the_other_teams(cast, client_for):
    CustomerFactory(owner=cast.outsider, team=cast.west, phone=cast.teammate_customer.phone)
    response = create(client_for(cast.manager), name="新客户", phone=cast.teammate_customer.phone)
    duplicates = response.context["form"].duplicates
    assert [c.pk for c in duplicates.shown] == [cast.teammate_customer.pk]
    assert duplicates.hidden == 1


def test_editing_without_touching_name_region_or_phone_does_not_warn(cast, client_for):
    customer = cast.rep_customer
    CustomerFactory(owner=cast.rep, phone=customer.phone)
    response = client_for(cast.rep).post(
        reverse("customer-edit", args=[customer.pk]),
        {
            "name": customer.name,
            "kind": customer.kind,
            "channel_role": customer.channel_role,
            "region": customer.region,
            "phone": customer.phone,
            "address": "新地址",
        },
    )
    assert response.status_code == 302


def test_editing_the_phone_to_anothers_warns_but_never_matches_itself(cast, client_for):
    customer, other = cast.rep_customer, CustomerFactory(owner=cast.rep)
    url = reverse("customer-edit", args=[customer.pk])
    data = {"name": customer.name, "kind": "company", "channel_role": "terminal"}
    client = client_for(cast.rep)
    response = client.post(url, {**data, "region": customer.region, "phone": other.phone})
    assert [c.pk for c in response.context["form"].duplicates.shown] == [other.pk]
    response = client.post(url, {**data, "region": "苏州", "phone": customer.phone})
    assert response.status_code == 302


def test_duplicate_check_costs_two_queries(cast, django_assert_num_queries):
    values = {"name": "上海锦江酒店", "region": "上海", "phone": cast.rep_customer.phone}
    possible_duplicates(cast.rep, **values)  # the user's permissions and teams, read once
    # The counts of all and of visible matches; the visible ones named.
    with django_assert_num_queries(2):
        matches = possible_duplicates(cast.rep, **values)
    assert matches.visible == 1
    possible_duplicates(cast.admin, **values)
    # Who sees everyone: one count, the matches named.
    with django_assert_num_queries(2):
        matches = possible_duplicates(cast.admin, **values)
    assert (matches.visible, matches.hidden) == (1, 0)


# Imports ---------------------------------------------------------------------------------


def csv_file(tmp_path, text):
    path = tmp_path / "customers.csv"
    path.write_text(dedent(text).lstrip(), encoding="utf-8")
    return path


def test_within_file_a_repeated_phone_or_name_is_reported_from_its_second_line():
    rows = pd.DataFrame(
        {
            LINE: [2, 3, 4, 5],
            "customer_ref": ["A", "B", "C", "A"],
            "name": ["华夏公司", "华夏有限公司", "别的", "华夏公司"],
            "region": ["上海", "上海", "上海", "上海"],
            "phone": ["13800000001", "", "138 0000 0001", "13800000001"],
        }
    )
    warnings = within_file(key_hashes(keys_of(rows)))
    assert list(zip(warnings[LINE], warnings["column"], strict=True)) == [
        (3, "name"),
        (4, "phone"),
    ]


def test_import_reports_likely_duplicates_and_writes_the_rows(tmp_path, cast):
    CustomerFactory(external_ref="OLD-1", name="上海华夏商贸有限公司", region="上海", phone="")
    path = csv_file(
        tmp_path,
        """
        customer_ref,name,region,phone
        N-1,上海华夏商贸公司,上海,13900000001
        N-2,另一家,上海,139 0000 0001
        OLD-1,上海华夏商贸有限公司,上海,
        """,
    )
    report = import_customers(source=path, by=cast.admin)
    assert report.imported and report.created == 2 and report.rejected == 0
    # Line 4 updates OLD-1, whose name line 2 repeats under another reference.
    assert [(w.line, w.column) for w in report.warnings] == [
        (2, "name"),
        (3, "phone"),
        (4, "name"),
    ]
    assert "OLD-1" in report.warnings[0].reason
    assert Customer.objects.filter(external_ref__in=["N-1", "N-2"]).count() == 2


def test_import_command_prints_the_warnings(tmp_path, cast):
    CustomerFactory(external_ref="OLD-1", phone="13900000001")
    path = csv_file(tmp_path, "customer_ref,name,phone\nN-1,某店,13900000001\n")
    out = StringIO()
    call_command("import_customers", str(path), stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "line 2, phone: Same phone as a recorded customer: OLD-1." in text
    assert "1 rows look like customers already recorded." in text


def test_import_by_a_rep_counts_customers_they_cannot_see(tmp_path, cast):
    other = cast.outsider_customer
    path = csv_file(tmp_path, f"customer_ref,name,phone\nN-1,某店,{other.phone}\n")
    report = import_customers(source=path, by=cast.rep, dry_run=True)
    (warning,) = report.warnings
    assert other.external_ref not in warning.reason and "1 you cannot see" in warning.reason


@pytest.mark.usefixtures("eager_tasks")
def test_admin_import_job_lists_the_likely_duplicates(
    cast, client_for, private_media, django_capture_on_commit_callbacks
):
    CustomerFactory(external_ref="OLD-1", phone="13900000001")
    content = "customer_ref,name,phone\nN-1,某店,13900000001\n".encode()
    client = client_for(cast.admin)
    preview = client.post(
        reverse("admin:customers_customer_import"),
        {"kind": "customers", "file": SimpleUploadedFile("c.csv", content)},
    )
    token = preview.context["confirm"].initial["token"]
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            reverse("admin:customers_customer_import_confirm"), {"token": token, "check_only": "1"}
        )
    page = client.get(started.url).content.decode()
    assert "Likely duplicates" in page and "OLD-1" in page
    assert not Customer.objects.filter(external_ref="N-1").exists()

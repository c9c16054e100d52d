"""New customers are numbered KH000001, KH000002, … after the highest KH number in use,
on the site and in the admin; a number typed in is kept."""

import threading

import pytest
from django.db import close_old_connections, connection, transaction
from django.urls import reverse

from customers import numbering
from customers.models import Customer
from tests.customers.test_worker import skip_or_fail
from tests.factories import CustomerFactory

NEW = {
    "name": "苏州好又多超市",
    "kind": "company",
    "channel_role": "terminal",
    "terminal_type": "supermarket",
    "region": "苏州",
}


@pytest.fixture(autouse=True)
def fresh_sequence(db):
    """A sequence is not rolled back with a test's transaction: start each test at 0."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(%s, 0)", [numbering.SEQUENCE])


def create_on_the_site(client, **extra):
    response = client.post(reverse("customer-create"), {**NEW, **extra})
    assert response.status_code == 302
    return Customer.objects.get(name=NEW["name"])


class TestOnTheSite:
    def test_the_next_after_the_seeded_numbers(self, cast, client_for):
        CustomerFactory(external_ref="KH000141")
        CustomerFactory(external_ref="KH000009")
        CustomerFactory(external_ref="C-425ED60A71")  # an older scheme: left as it is
        CustomerFactory(external_ref="KH-ABC")
        customer = create_on_the_site(client_for(cast.rep))
        assert customer.external_ref == "KH000142"

    def test_numbers_grow_past_six_digits(self, cast, client_for):
        CustomerFactory(external_ref="KH999999")
        assert create_on_the_site(client_for(cast.rep)).external_ref == "KH1000000"

    def test_a_number_typed_in_is_kept(self, cast, client_for):
        customer = create_on_the_site(client_for(cast.rep), external_ref="SZ-0001")
        assert customer.external_ref == "SZ-0001"

    def test_one_after_another(self, cast, client_for):
        client = client_for(cast.rep)
        refs = []
        for n in range(3):
            client.post(reverse("customer-create"), {**NEW, "name": f"门店{n}"})
            refs.append(Customer.objects.get(name=f"门店{n}").external_ref)
        assert refs == ["KH000001", "KH000002", "KH000003"]


def test_the_admin_numbers_a_customer_added_without_one(cast, client_for):
    CustomerFactory(external_ref="KH000141")
    client = client_for(cast.admin)
    url = reverse("admin:customers_customer_add")
    page = client.get(url)
    assert "Left empty, the next customer number is assigned." in page.content.decode()
    data = {**NEW, "external_ref": ""}
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Customer.objects.get(name=NEW["name"]).external_ref == "KH000142"


@pytest.mark.django_db(transaction=True)
def test_concurrent_numbers_are_distinct_on_postgresql():
    """Eight threads draw numbers at once, after a bulk load put KH numbers ahead of the
    sequence: every number is new and none repeats."""
    if connection.vendor != "postgresql":
        skip_or_fail("the sequence is PostgreSQL's (DATABASE_URL)")
    Customer.objects.bulk_create(
        Customer(external_ref=numbering.format_number(n), name=f"客户{n}") for n in range(1, 51)
    )
    drawn, errors = [], []
    start = threading.Barrier(8)

    def draw():
        try:
            start.wait()
            for _ in range(10):
                with transaction.atomic():
                    reference = numbering.next_reference()
                    Customer.objects.create(external_ref=reference, name=f"新客户{reference}")
                drawn.append(reference)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(drawn) == len(set(drawn)) == 80
    assert min(drawn) == "KH000051"

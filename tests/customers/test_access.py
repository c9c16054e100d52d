"""Record-level access: every customer page answers 404 to whoever may not see the customer."""

import pytest
from django.urls import reverse

from customers.models import Customer
from tests.factories import (
    ComplaintFactory,
    CustomerFactory,
    OpenIssueFactory,
)

pytestmark = pytest.mark.django_db


def customer_urls(customer):
    complaint = ComplaintFactory(customer=customer)
    issue = OpenIssueFactory(customer=customer)
    pk = customer.pk
    return [
        reverse("customer-detail", args=[pk]),
        reverse("customer-edit", args=[pk]),
        reverse("customer-reassign", args=[pk]),
        reverse("contact-create", args=[pk]),
        reverse("interaction-create", args=[pk]),
        reverse("complaint-create", args=[pk]),
        reverse("complaint-update", args=[pk, complaint.pk]),
        reverse("document-upload", args=[pk]),
        reverse("issue-create", args=[pk]),
        reverse("issue-close", args=[pk, issue.pk]),
    ]


def test_rep_gets_404_for_other_reps_customer(cast, client_for):
    client = client_for(cast.rep)
    for url in customer_urls(cast.outsider_customer):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"summary": "x"}).status_code == 404, url


def test_rep_gets_404_for_teammates_customer(cast, client_for):
    client = client_for(cast.rep)
    response = client.get(reverse("customer-detail", args=[cast.teammate_customer.pk]))
    assert response.status_code == 404


def test_outsider_cannot_reach_east_team_customers(cast, client_for):
    client = client_for(cast.outsider)
    for url in customer_urls(cast.rep_customer):
        assert client.get(url).status_code == 404, url


def test_manager_sees_every_customer_of_their_team_only(cast):
    visible = set(Customer.objects.visible_to(cast.manager))
    assert visible == {cast.rep_customer, cast.teammate_customer}


def test_admin_sees_all_customers(cast):
    assert Customer.objects.visible_to(cast.admin).count() == 3


def test_user_with_view_all_permission_sees_all(cast):
    from django.contrib.auth.models import Permission

    auditor = cast.outsider
    auditor.user_permissions.add(Permission.objects.get(codename="view_all_customers"))
    auditor = type(auditor).objects.get(pk=auditor.pk)
    assert Customer.objects.visible_to(auditor).count() == 3


def test_rep_sees_own_customers_plus_none_of_the_unowned(cast):
    CustomerFactory(owner=None, team=cast.east)
    assert list(Customer.objects.visible_to(cast.rep)) == [cast.rep_customer]
    assert Customer.objects.visible_to(cast.manager).count() == 3


def test_anonymous_user_is_sent_to_login(client, cast):
    response = client.get(reverse("customer-detail", args=[cast.rep_customer.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_list_search_and_export_contain_only_visible_customers(cast, client_for):
    client = client_for(cast.rep)
    page = client.get(reverse("customer-list"), {"q": "连锁"}).content.decode()
    assert "成都红旗连锁" not in page
    export = b"".join(client.get(reverse("customer-export")).streaming_content).decode()
    assert "上海锦江酒店" in export
    assert "成都红旗连锁" not in export and "杭州联华超市" not in export


def test_start_page_counts_only_visible_customers(cast, client_for):
    response = client_for(cast.rep).get(reverse("home"))
    assert response.context["customer_count"] == 1


def test_only_managers_of_the_team_and_admins_may_reassign(cast, client_for):
    url = reverse("customer-reassign", args=[cast.rep_customer.pk])
    assert client_for(cast.rep).get(url).status_code == 403
    assert client_for(cast.manager).get(url).status_code == 200
    assert client_for(cast.admin).get(url).status_code == 200

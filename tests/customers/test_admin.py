"""Django admin: every model's pages open for an admin, with search and import at hand."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

MODELS = [
    "customer",
    "order",
    "invoice",
    "payment",
    "gradechange",
    "gradepolicy",
    "creditrules",
    "pipelinerun",
    "complaint",
    "interaction",
    "openissue",
    "document",
    "team",
    "tag",
]


@pytest.mark.parametrize("model", MODELS)
def test_every_customers_model_has_a_working_admin_list_with_search(cast, client_for, model):
    response = client_for(cast.admin).get(
        reverse(f"admin:customers_{model}_changelist"), {"q": "锦江"}
    )
    assert response.status_code == 200


def test_customer_admin_page_shows_the_file_with_its_inlines(cast, client_for):
    response = client_for(cast.admin).get(
        reverse("admin:customers_customer_change", args=[cast.rep_customer.pk])
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "上海锦江酒店" in content and "grade_changes-TOTAL_FORMS" in content


def test_grade_policies_list_their_recommended_action(cast, client_for):
    page = client_for(cast.admin).get(reverse("admin:customers_gradepolicy_changelist"))
    content = page.content.decode()
    assert "Recommended action" in content and "Strengthen the relationship" in content
    assert "bound method" not in content


@pytest.mark.parametrize("model", ["customer", "order", "invoice", "payment"])
def test_import_is_offered_on_the_lists_that_can_be_imported(cast, client_for, model):
    response = client_for(cast.admin).get(reverse(f"admin:customers_{model}_changelist"))
    assert "Import from a file" in response.content.decode()


def test_capped_paginator_takes_the_arguments_django_admin_passes(cast, settings):
    from customers.models import Customer
    from customers.paging import CappedPaginator

    settings.LIST_COUNT_CAP = 2
    paginator = CappedPaginator(Customer.objects.order_by("pk"), 1, 0, True)
    assert (paginator.count, paginator.num_pages, paginator.is_capped) == (3, 2, True)

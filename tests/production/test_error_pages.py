"""The 403, 404 and 500 pages, as a production site (DEBUG off) shows them: in the
site's layout and the visitor's language. The 500 page renders with the database
refusing every query, since a database that is down is a common reason for a 500."""

import pytest
from django.db import OperationalError, connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

pytestmark = pytest.mark.django_db

HEADINGS = {
    "en": {403: "Access denied", 404: "Page not found", 500: "Something went wrong on our side"},
    "zh-hans": {403: "无权访问", 404: "页面不存在", 500: "系统出错了"},
}


@pytest.fixture(autouse=True)
def _production_errors(settings):
    settings.DEBUG = False
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False


@pytest.fixture
def rep_client(client, cast):
    client.force_login(cast.rep)
    return client


def in_language(client, language):
    client.cookies["django_language"] = language
    return client


def assert_error_page(response, status, language):
    page = response.content.decode()
    assert response.status_code == status
    assert f'<html lang="{language}">' in page
    assert 'class="navbar-brand"' in page and "bootstrap.min.css" in page
    assert 'id="error-page"' in page
    assert f'<h1 class="h3">{HEADINGS[language][status]}</h1>' in page
    return page


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_unknown_address_answers_404_in_the_layout_with_the_user_menu(rep_client, language):
    response = in_language(rep_client, language).get("/no-such-page/")

    page = assert_error_page(response, 404, language)
    assert reverse("logout") in page and 'name="language"' in page


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_another_teams_customer_answers_the_same_404_page(rep_client, cast, language):
    url = reverse("customer-detail", args=[cast.outsider_customer.pk])

    response = in_language(rep_client, language).get(url)

    page = assert_error_page(response, 404, language)
    assert cast.outsider_customer.name not in page


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_page_beyond_the_role_answers_403_in_the_layout(rep_client, language):
    response = in_language(rep_client, language).get(reverse("pipeline-runs"))

    page = assert_error_page(response, 403, language)
    assert reverse("logout") in page


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_database_down_answers_the_500_page_without_querying(rep_client, language):
    attempted = []

    def refuse(execute, sql, params, many, context):
        attempted.append(sql)
        raise OperationalError("could not connect to server: Connection refused")

    rep_client.raise_request_exception = False
    with connection.execute_wrapper(refuse):
        response = in_language(rep_client, language).get(reverse("home"))

    page = assert_error_page(response, 500, language)
    # The one query tried is the session lookup that failed; rendering tried none.
    assert len(attempted) == 1 and "django_session" in attempted[0]
    assert 'name="language"' not in page and reverse("logout") not in page


def test_500_page_renders_from_an_empty_context_without_queries(django_assert_num_queries):
    with translation.override("zh-hans"), django_assert_num_queries(0):
        page = render_to_string("500.html")

    assert HEADINGS["zh-hans"][500] in page and 'id="error-page"' in page

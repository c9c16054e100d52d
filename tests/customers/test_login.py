import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_login_page_and_language_switch_work_without_logging_in(client):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302 and response["Location"] == reverse("login")


def test_rep_logs_in_with_the_right_password(cast, client):
    cast.rep.set_password("s3cret-Passw0rd")
    cast.rep.save()
    response = client.post(reverse("login"), {"username": "rep", "password": "s3cret-Passw0rd"})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_repeated_wrong_passwords_lock_the_account_even_for_the_right_one(cast, client, settings):
    cast.rep.set_password("s3cret-Passw0rd")
    cast.rep.save()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("login"), {"username": "rep", "password": "wrong"})
    assert response.status_code == 429
    response = client.post(reverse("login"), {"username": "rep", "password": "s3cret-Passw0rd"})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302

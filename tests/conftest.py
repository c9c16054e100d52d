"""The cast for access tests: a rep, a teammate, their manager, a rep of
another team and an admin, each with one customer of their own where it matters."""

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model

from crm_site.celery import app as celery_app
from customers import pipeline
from customers.pipeline import StepResult, register_step
from tests.factories import CustomerFactory, TeamFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_and_english(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LANGUAGE_CODE = "en"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    return settings.MEDIA_ROOT


@pytest.fixture
def cast(db):
    """Two teams: east (rep, teammate, manager) and west (outsider), plus an admin."""
    east, west = TeamFactory(name="华东一组"), TeamFactory(name="华西一组")
    rep = UserFactory(username="rep", first_name="伟", last_name="王")
    teammate = UserFactory(username="teammate", first_name="芳", last_name="李")
    manager = UserFactory(username="manager", first_name="强", last_name="张")
    outsider = UserFactory(username="outsider", first_name="敏", last_name="刘")
    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "x")
    east.members.add(rep, teammate)
    east.managers.add(manager)
    west.members.add(outsider)
    return SimpleNamespace(
        east=east,
        west=west,
        rep=rep,
        teammate=teammate,
        manager=manager,
        outsider=outsider,
        admin=admin,
        rep_customer=CustomerFactory(owner=rep, team=east, name="上海锦江酒店"),
        teammate_customer=CustomerFactory(owner=teammate, team=east, name="杭州联华超市"),
        outsider_customer=CustomerFactory(owner=outsider, team=west, name="成都红旗连锁"),
    )


@pytest.fixture
def client_for(client):
    """Log the test client in as the given user."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def steps(monkeypatch):
    """An empty step registry for the test; the real one comes back afterwards."""
    monkeypatch.setattr(pipeline, "_steps", {})
    calls = []

    def add(name, *, after=(), rows=1, publish=None, fails=False):
        def step(run):
            calls.append(name)
            if fails:
                raise ValueError(f"{name} broke")
            return StepResult(rows=rows, summary={"seen": rows}, publish=publish)

        register_step(name, step, after=after)

    add.calls = calls
    return add


def _always_eager(eager):
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def eager_tasks():
    """Tasks run in-process even when the environment names a broker."""
    yield from _always_eager(True)


@pytest.fixture
def queued_tasks():
    """Tasks are sent to a broker even when the environment names none."""
    yield from _always_eager(False)

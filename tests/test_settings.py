"""Settings come from the environment: production values pass Django's deployment
checks, and with nothing set the site runs embedded (SQLite, in-process tasks).

Each case imports the settings in a fresh process with a clean environment, so
neither the test run's own variables nor its settings fixtures leak in."""

import json
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "0",
    "HTTPS": "1",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "crm.example.com",
    "BEHIND_PROXY": "1",
}


def run_in_clean_env(args, **env):
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "crm_site.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_environment_passes_deploy_checks_without_warnings():
    result = run_in_clean_env(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output, output


def test_production_without_secret_key_refuses_to_start():
    environment = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}

    result = run_in_clean_env(["manage.py", "check"], **environment)

    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


EMBEDDED_PROBE = """
import json
import django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "debug": settings.DEBUG,
}))
"""


def test_nothing_set_runs_embedded_on_sqlite_with_eager_tasks():
    result = run_in_clean_env(["-c", EMBEDDED_PROBE])

    assert result.returncode == 0, result.stderr
    probed = json.loads(result.stdout.strip().splitlines()[-1])
    assert probed == {
        "engine": "django.db.backends.sqlite3",
        "eager": True,
        "broker": "",
        "debug": False,
    }


CONNECTION_PROBE = """
import json
import django
from django.conf import settings
django.setup()
database = settings.DATABASES["default"]
print(json.dumps([database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]]))
"""


def probe_connections(**env):
    result = run_in_clean_env(["-c", CONNECTION_PROBE], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_database_server_connections_are_kept_a_minute_and_checked_before_reuse():
    server = "postgres://crm:secret@db.example.com:5432/crm"

    assert probe_connections(**PRODUCTION, DATABASE_URL=server) == [60, True]


def test_connection_lifetime_and_health_checks_follow_the_environment():
    server = "postgres://crm:secret@db.example.com:5432/crm"

    assert probe_connections(DATABASE_URL=server, CONN_MAX_AGE="0", CONN_HEALTH_CHECKS="0") == [
        0,
        False,
    ]
    assert probe_connections(DATABASE_URL=server, CONN_MAX_AGE="300") == [300, True]


def test_embedded_sqlite_opens_its_file_per_request():
    assert probe_connections() == [0, True]

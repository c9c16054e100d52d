"""Settings for the CRM, read from the environment.

With nothing set the site runs embedded: SQLite, Celery tasks executed
in-process. Production differs only by environment values: DATABASE_URL
(PostgreSQL), CELERY_BROKER_URL (Redis), SECRET_KEY, DEBUG=0, ALLOWED_HOSTS,
HTTPS=1.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY") or _DEV_SECRET_KEY
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY and env_bool("HTTPS"):
    raise ImproperlyConfigured("Set SECRET_KEY when serving over HTTPS in production.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "crm_site.apps.LoginLockoutsConfig",
    "crm_site.apps.PeriodicTasksConfig",
    "customers",
    "lifecycle",
    "segmentation",
    "loyalty",
    "retention",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, so that it sees the outcome of every authentication attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm_site.urls"
WSGI_APPLICATION = "crm_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "customers.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'crm.sqlite3'}",
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", default=True),
    )
}
_EMBEDDED_DATABASE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
# A database server's connections outlive the request (a minute, checked before
# reuse) instead of being opened for every page; a SQLite file opens cheaply.
DATABASES["default"]["CONN_MAX_AGE"] = int(
    os.environ.get("CONN_MAX_AGE") or (0 if _EMBEDDED_DATABASE else 60)
)
if _EMBEDDED_DATABASE:
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env_bool(
    "POSTGRES_JIT", default=False
):
    # PostgreSQL's JIT compiles a query's expressions once its estimated cost is high: on the
    # pages' recursive and grouped reads at a million customers that compilation took ten
    # times the query itself (1,250 ms against 122–147 ms for the network tree). Off for
    # every connection (no extra query per request); POSTGRES_JIT=1 turns it back on.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Brute-force protection: five failures lock the username from that address for an hour.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0")) or None

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
# The project's catalogue first, then the one for third-party apps' strings that
# their own catalogues leave in English (kept by hand; makemessages writes the first).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale" / "third_party"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Uploaded documents (ID cards, licences) are private: MEDIA_ROOT has no URL
    # and files are streamed only by a view that checks access.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "private"))
# An upload past 2 MB streams to a temporary file (Django's default handlers), never into
# memory; the 10 MB cap is on the form fields, not on files.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Import files uploaded in the admin: 200 MB holds a million customers with addresses and
# notes (a million orders take about 58 MB). A bigger file is refused with this limit named;
# the import_* commands read files of any size. A proxy in front must accept as much
# (nginx: client_max_body_size 200m).
IMPORT_UPLOAD_MAX_BYTES = int(os.environ.get("IMPORT_UPLOAD_MAX_BYTES", str(200 * 1024 * 1024)))
# A running import job writes its progress and a sign of life this often; one silent for
# IMPORT_STALE_AFTER_SECONDS (its worker was stopped) is closed as failed.
IMPORT_PROGRESS_SECONDS = float(os.environ.get("IMPORT_PROGRESS_SECONDS", "2"))
IMPORT_STALE_AFTER_SECONDS = float(os.environ.get("IMPORT_STALE_AFTER_SECONDS", "120"))
if IMPORT_STALE_AFTER_SECONDS < 5 * IMPORT_PROGRESS_SECONDS:
    raise ImproperlyConfigured(
        "IMPORT_STALE_AFTER_SECONDS must be at least five times IMPORT_PROGRESS_SECONDS."
    )
DOCUMENT_MAX_BYTES = int(os.environ.get("DOCUMENT_MAX_BYTES", str(5 * 1024 * 1024)))
DOCUMENT_EXTENSIONS = ["pdf", "jpg", "jpeg", "png"]

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Celery: without a broker, tasks run eagerly in-process (the embedded mode).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With late acknowledgement Redis hands an unacknowledged task to another worker after
# the visibility timeout; it outlasts the longest run (runs are abandoned at 6 h). A dead
# worker is not found this way but by the runs' heartbeat within minutes, and a task
# redelivered later finds its run closed or claimed and does nothing. A connection to an
# unreachable broker gives up after a few seconds instead of the system's minutes.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 7 * 3600, "socket_connect_timeout": 5}
# A task whose pool process was killed (out of memory, say) is acknowledged, not run again
# in a loop: its run is closed by the heartbeat check and the next run starts afresh.
CELERY_TASK_REJECT_ON_WORKER_LOST = False

# A running pipeline run refreshes its heartbeat this often; a run without a heartbeat for
# PIPELINE_STALE_AFTER_SECONDS (its worker was stopped, or none took it up) is closed.
# Pipeline steps executed at once on PostgreSQL (customers.pipeline); 1: one at a time.
PIPELINE_STEP_THREADS = max(1, int(os.environ.get("PIPELINE_STEP_THREADS", "2")))
PIPELINE_HEARTBEAT_SECONDS = float(os.environ.get("PIPELINE_HEARTBEAT_SECONDS", "30"))
PIPELINE_STALE_AFTER_SECONDS = float(os.environ.get("PIPELINE_STALE_AFTER_SECONDS", "300"))
if PIPELINE_STALE_AFTER_SECONDS < 2 * PIPELINE_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "PIPELINE_STALE_AFTER_SECONDS must be at least twice PIPELINE_HEARTBEAT_SECONDS."
    )

# Security: HTTPS=1 in production turns on redirects, secure cookies and HSTS.
HTTPS = env_bool("HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env_bool("BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Size of list pages and the cap past which counts are shown as "more than".
CUSTOMER_LIST_PAGE_SIZE = 50
LIST_COUNT_CAP = 10_000

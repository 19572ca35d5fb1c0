"""Inkweld settings, read from the environment.

A `.env` file beside `manage.py` is read when present; real environment variables win over it.
Every variable read here is documented in `.env.example`.
"""

from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# read_env() never overrides a variable that is already set, so the real environment wins.
environ.Env.read_env(BASE_DIR / ".env")


def _bool(name: str, default: bool) -> bool:
    """A boolean that fails loudly on anything but the usual spellings (healthchecks' envbool)."""
    raw = env.str(name, default="").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true or false.")


DEBUG = _bool("DEBUG", False)

_HOW_TO_MAKE_ONE = (
    'Generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))" '
    "and put it in the environment or in .env (make run writes a .env for you)."
)


def _secret(name: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        # Development only: a fixed value so encrypted fields stay readable between restarts.
        return f"insecure-development-{name.lower()}"
    raise ImproperlyConfigured(f"{name} is not set and DEBUG is off. {_HOW_TO_MAKE_ONE}")


SECRET_KEY = _secret("SECRET_KEY")
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
# django-fernet-encrypted-fields derives its keys from SECRET_KEY (+ fallbacks) and SALT_KEY.
# A comma-separated SALT_KEY is a list: the first encrypts, all of them decrypt (key rotation).
_salt = _secret("SALT_KEY")
SALT_KEY: str | list[str] = [s.strip() for s in _salt.split(",")] if "," in _salt else _salt

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Off by default in production: anyone who can reach a site with sign-up open can make an account (issue 11).
ALLOW_SIGNUP = _bool("ALLOW_SIGNUP", DEBUG)
# Accounts that sign themselves up may generate images (spend the provider credit) only when this is on;
# otherwise an admin gives them "Can generate images" (imagegen/permissions.py).
SIGNUP_CAN_GENERATE = _bool("SIGNUP_CAN_GENERATE", False)
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "accounts",
    "projects",
    "media_library",
    # Before django_tasks_db: its `db_worker` command is imagegen's (imagegen/worker.py), which also recovers
    # jobs a stopped worker left running.
    "imagegen",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "inkweld.health.HealthCheckMiddleware",  # first: probes get "ok" before HTTPS and host checks
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "inkweld.urls"
WSGI_APPLICATION = "inkweld.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.site",
            ],
        },
    },
]

DATA_DIR = BASE_DIR / "data"
if not env.str("DATABASE_URL", default=""):
    # The embedded default lives in the git-ignored data/ folder, which a fresh clone lacks.
    DATA_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'inkweld.sqlite3'}")}
_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
# Empty means the default: on SQLite connections are kept (600 s), since opening one costs Django about 4 ms (the
# functions it registers, the PRAGMAs) on every request and every job, and a kept one is only an open file; on
# PostgreSQL they are closed after each request and lent by the pool below instead.
DATABASES["default"].setdefault(
    "CONN_MAX_AGE", int(env.str("CONN_MAX_AGE", default="") or (600 if _SQLITE else 0))
)
DATABASE_POOL_SIZE = env.int("DATABASE_POOL_SIZE", default=10)
if (
    DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    and DATABASE_POOL_SIZE > 0
    and not DATABASES["default"]["CONN_MAX_AGE"]
):
    # Each process keeps a few PostgreSQL connections open and lends them out (psycopg's pool, Django's own
    # support): a request, a woken worker or an open dialog's stream no longer pays a new connection (a backend
    # fork and set-up, 5-10 ms) every time Django closes its connection. A process opens one at first and up to
    # DATABASE_POOL_SIZE under load; idle ones close after ten minutes. Django refuses a pool beside persistent
    # connections, so CONN_MAX_AGE > 0 (or DATABASE_POOL_SIZE=0) keeps the old way.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        "timeout": 20,
    }
if _SQLITE:
    # WAL lets the web server read while the worker writes; the timeout rides out short write locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]

# Media is private: files are served only through views that check project access,
# never from a public MEDIA_URL.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=DATA_DIR / "media")
MEDIA_URL = "/media-not-served/"
MEDIA_MAX_UPLOAD_BYTES = env.int("MEDIA_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
MEDIA_MAX_PIXELS = env.int("MEDIA_MAX_PIXELS", default=40_000_000)
# Set to "X-Accel-Redirect" (nginx) or "X-Sendfile" (Apache) to let the proxy send file bytes.
MEDIA_SENDFILE_HEADER = env.str("MEDIA_SENDFILE_HEADER", default="")
MEDIA_SENDFILE_PREFIX = env.str("MEDIA_SENDFILE_PREFIX", default="/protected-media/")
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Media storage: local files, or S3-compatible object storage ------------------------------------------------
# Naming a bucket moves media (uploads, thumbnails, generation candidates) to S3-compatible storage through
# django-storages. Its settings keep django-storages' own names and are read from environment variables of the
# same names; unset ones fall through to django-storages' and boto3's defaults (boto3 also finds an instance role).
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
# The server, e.g. http://seaweedfs:8333 (none: AWS itself).
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_SESSION_TOKEN = env.str("AWS_SESSION_TOKEN", default="") or None
AWS_LOCATION = env.str("AWS_LOCATION", default="")  # a folder inside the bucket, when the bucket is shared
AWS_S3_ADDRESSING_STYLE = env.str("AWS_S3_ADDRESSING_STYLE", default="") or None  # "path" for some servers
# Fixed, not configurable: what keeps media private and makes the bucket behave as the disk does.
# Never overwrite: like FileSystemStorage, a taken name gets a new one. Two writers saving the same picture at once
# must each get their own object, or the loser's clean-up (media_library.services) would delete the winner's file.
AWS_S3_FILE_OVERWRITE = False
AWS_DEFAULT_ACL = None  # objects take the bucket's policy, which must be private (no ACL makes them public)
AWS_QUERYSTRING_AUTH = True  # any URL django-storages makes is signed; the app itself never hands one out
AWS_S3_SIGNATURE_VERSION = "s3v4"
AWS_S3_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # a served file past this spools to a temporary file, not memory
if AWS_STORAGE_BUCKET_NAME:
    # Media bytes always pass through the app's access checks (media_library.serving); see the README's Deploy.
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}
    if MEDIA_SENDFILE_HEADER:
        raise ImproperlyConfigured(
            "MEDIA_SENDFILE_HEADER lets the proxy send media files from the local disk, but media is in the "
            f"bucket {AWS_STORAGE_BUCKET_NAME!r}: unset MEDIA_SENDFILE_HEADER."
        )

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# --- Cache: per process by default, shared with CACHE_URL ----------------------------------------------------------
# Model lists, the dialogs' poll budget and the worker's once-a-minute stuck-job sweep live here (login lockouts are
# in the database). With several web processes or hosts they must be shared: CACHE_URL=redis://host:6379/N (Django's
# own Redis backend). Empty (as .env.example leaves it) means the default.
CACHES = {"default": env.cache_url_config(env.str("CACHE_URL", default="") or "locmemcache://inkweld")}
if "KEY_PREFIX" not in CACHES["default"] and "key_prefix" in CACHES["default"]:
    # django-environ reads ?key_prefix= in lower case, which Django ignores.
    CACHES["default"]["KEY_PREFIX"] = CACHES["default"].pop("key_prefix")

# --- Backups: django-dbbackup (manage.py dbbackup / mediabackup, dbrestore / mediarestore) -----------------------
# The database (SQLite's backup API, or pg_dump) and every media file (from the disk or the bucket) go to BACKUP_DIR.
# Saved API keys stay encrypted in the dump: reading them after a restore needs the same SECRET_KEY and SALT_KEY.
INSTALLED_APPS += ["dbbackup"]
BACKUP_DIR = env.path("BACKUP_DIR", default=DATA_DIR / "backups")
STORAGES["dbbackup"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(BACKUP_DIR)},
}
# Named by what and when, not by host or database name, so a fresh install finds the latest without -i.
DBBACKUP_FILENAME_TEMPLATE = "inkweld-db-{datetime}.{extension}"
DBBACKUP_MEDIA_FILENAME_TEMPLATE = "inkweld-media-{datetime}.{extension}"
# PostgreSQL: a restore may run as another role than the one that owned the tables.
DBBACKUP_CONNECTORS = {"default": {"RESTORE_SUFFIX": "--no-owner --no-privileges"}}
DBBACKUP_SEND_EMAIL = False  # a failed backup fails its command (cron mails the output); no ADMINS to mail

# HTTPS: on by default in production, off in development. Behind a TLS-terminating proxy,
# SECURE_PROXY_SSL_HEADER trusts its X-Forwarded-Proto.
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = _bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", not DEBUG)
if _bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # urllib3 logs request lines at DEBUG; keep it quieter so nothing upstream-specific floods logs.
        "urllib3": {"level": "WARNING"},
    },
}

# --- Hardening (issue 11): sign-in guessing (django-axes) and Content-Security-Policy (django-csp) ---------------
from datetime import timedelta  # noqa: E402

from csp.constants import NONE, SELF  # noqa: E402

INSTALLED_APPS += ["axes"]
# CSP right after SecurityMiddleware, so every later response (errors included) gets the header; axes last, as it asks.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware"
)
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out username + address before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]
# After LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that pair is locked out for
# LOGIN_COOLOFF_MINUTES (counted from the last failure before the lock); the page says when to try again. The site's
# sign-in and the admin's alike. A right password clears the count.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the time the page names stays true
AXES_LOCKOUT_CALLABLE = "accounts.lockout.locked_out"
# The address: REMOTE_ADDR, or behind the TLS proxy SECURE_PROXY_SSL_HEADER trusts, the one it adds to
# X-Forwarded-For (accounts/lockout.py).
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"

# A strict policy for every HTML page: scripts and styles only from our own static files (no inline script, event
# handler or style; htmx's own indicator styles are off, see templates/base.html), nothing framed, forms post only
# here. Media responses set a stricter policy of their own (media_library/serving.py), which is kept.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # data: for the favicon
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

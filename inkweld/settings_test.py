"""Settings for the test suite: the real settings, with test-only defaults filled in first.

Only values the environment leaves unset are filled, so `DATABASE_URL` from CI still selects PostgreSQL.
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("SALT_KEY", "test-salt-key")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
if not os.environ.get("MEDIA_ROOT"):
    # One folder per test process, removed when it exits. Worker processes the tests start are given the
    # parent's MEDIA_ROOT, so they make none of their own.
    _media_root = tempfile.mkdtemp(prefix="inkweld-test-media-")
    atexit.register(shutil.rmtree, _media_root, ignore_errors=True)
    os.environ["MEDIA_ROOT"] = _media_root
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")

from inkweld.settings import *  # noqa: F403
from inkweld.settings import CACHES, DATABASES, STORAGES

# Tests must not depend on collectstatic having run.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
# No collectstatic in tests: WhiteNoise serves from the finders.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A file (not :memory:) so the browser tests' worker process can share the test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("INKWELD_TEST_DB", os.path.join(tempfile.gettempdir(), "inkweld-test.sqlite3"))
    }

# Test-only (imagegen/providers/public_fetch.py): networks that image links in upstream answers may lead into
# besides public addresses, e.g. INKWELD_TEST_IMAGE_LINKS_ALLOW=127.0.0.1/32 so the stand-in can serve links to
# itself. The product's settings never set it: there, a link into a private network is always refused.
UPSTREAM_IMAGE_LINKS_ALLOW = [
    n.strip() for n in os.environ.get("INKWELD_TEST_IMAGE_LINKS_ALLOW", "").split(",") if n.strip()
]

if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A shared Redis database (the CI run with CACHE_URL): every test process keeps its keys under a prefix of its
    # own, and so do the server and worker processes it starts (they inherit the environment: the base of the prefix
    # and, under pytest-xdist, the worker id). Clearing the cache clears only that prefix.
    _run = os.environ.setdefault("INKWELD_TEST_CACHE_PREFIX", f"inkweld-test-{os.getpid()}")
    CACHES["default"]["KEY_PREFIX"] = f"{_run}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    CACHES["default"]["BACKEND"] = "tests.redis_cache.PrefixScopedRedisCache"

"""The cache: per process by default, shared by every process with CACHE_URL=redis://….

CI runs the whole suite a third time with CACHE_URL pointing at Redis, so everything cached (model lists, the poll
budget, the stuck-job sweep) is exercised on both. The tests here say what differs: which processes see a value.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache

from tests.deploy.settings_probe import run_settings

ROOT = Path(__file__).resolve().parents[2]


def in_another_process(code: str) -> str:
    """Run `code` with `cache` imported in a new Python on the suite's settings, as a worker or web process would."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "inkweld.settings_test"}
    script = "import django; django.setup()\nfrom django.core.cache import cache\n" + code
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def shared() -> bool:
    from django.conf import settings

    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def test_what_one_process_caches_another_sees_exactly_when_the_cache_is_shared():
    key = f"deploy-test-{uuid.uuid4().hex}"
    cache.set(key, "from the test process", 60)
    seen = in_another_process(f"print(cache.get({key!r}, 'nothing'))")
    assert seen == ("from the test process" if shared() else "nothing")
    cache.delete(key)


def test_the_stuck_job_sweep_runs_once_a_minute_across_all_workers_with_a_shared_cache():
    # Each worker sweeps when it wins cache.add("imagegen:stuck-sweep") (imagegen.services.job_run).
    cache.delete("imagegen:stuck-sweep")
    assert cache.add("imagegen:stuck-sweep", True, timeout=60)
    other_worker_sweeps = in_another_process("print(cache.add('imagegen:stuck-sweep', True, timeout=60))")
    assert other_worker_sweeps == ("False" if shared() else "True")
    cache.delete("imagegen:stuck-sweep")


def test_clearing_the_cache_in_a_test_keeps_other_test_processes_keys():
    other = in_another_process(
        "from django.conf import settings; print(settings.CACHES['default'].get('KEY_PREFIX', ''))"
    )
    mine = f"deploy-test-{uuid.uuid4().hex}"
    cache.set(mine, 1, 60)
    if shared():
        # Another test process's key, under its own prefix in the same Redis database.
        from django.core.cache import caches

        client = caches["default"]._cache.get_client(None, write=True)
        foreign = f"inkweld-test-elsewhere-{uuid.uuid4().hex}:1:model-list"
        client.set(foreign, b"kept", ex=60)
        cache.clear()
        assert client.get(foreign) == b"kept"
        client.delete(foreign)
        assert other == caches["default"].key_prefix  # the processes a test starts share its prefix
    else:
        cache.clear()
    assert cache.get(mine) is None


@pytest.mark.parametrize(
    ("cache_url", "backend", "location", "prefix"),
    [
        ("", "django.core.cache.backends.locmem.LocMemCache", "inkweld", ""),
        (
            "redis://127.0.0.1:6379/3",
            "django.core.cache.backends.redis.RedisCache",
            "redis://127.0.0.1:6379/3",
            "",
        ),
        (
            "redis://:s3cret@cache.internal:6379/1?key_prefix=inkweld",
            "django.core.cache.backends.redis.RedisCache",
            "redis://:s3cret@cache.internal:6379/1",
            "inkweld",
        ),
    ],
)
def test_cache_url_selects_djangos_own_backend(cache_url, backend, location, prefix):
    result = run_settings(
        "c = settings.CACHES['default']",
        "print(c['BACKEND']); print(c['LOCATION']); print(c.get('KEY_PREFIX', ''))",
        CACHE_URL=cache_url,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [backend, location, prefix]

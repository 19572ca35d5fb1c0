"""The cache backend the tests use when CACHE_URL names Redis: Django's own, except that `clear()` removes only this
test process's keys.

Django's RedisCache.clear() empties the whole Redis database (FLUSHDB), whatever KEY_PREFIX says. Parallel test
processes (pytest-xdist) share that database, each under its own prefix (inkweld/settings_test.py): one test clearing
the cache must not wipe another's model lists or poll budget halfway through a test. Production never clears it.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache


class PrefixScopedRedisCache(RedisCache):
    def clear(self) -> bool:
        client = self._cache.get_client(None, write=True)
        keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        return True

"""The shared cache on Redis, which keeps answering from process memory when Redis does not.

Rate limits and the donation page's version live in the cache. If Redis stops answering,
Django's RedisCache raises on every call and the form would answer 500: a Redis outage
would stop gifts. This backend serves those calls from a process-local LocMemCache
instead, logs the outage once (and again when Redis answers), and tries Redis again after
a short back-off, so a dead Redis costs one failed connection every few seconds, not one
per cache call.

What is lost meanwhile: counts are per process (each web worker counts its own attempts),
and a preset change reaches other processes only at the page's periodic rebuild. Values
written during the outage stay in that process; Redis's own values are used again as soon
as it answers.
"""

import logging
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# Redis normally answers in well under a millisecond on a LAN. A host that is gone (no
# RST, packets dropped) would otherwise hold a request for the OS's connect timeout.
DEFAULT_OPTIONS = {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}
DEFAULT_RETRY_AFTER_SECONDS = 5.0
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def redacted(location: str) -> str:
    """host:port/db, without the password a REDIS_URL may carry."""
    parts = urlsplit(location)
    return f"{parts.hostname}:{parts.port or 6379}{parts.path or ''}"


class Outage:
    """Whether this process is serving a location from memory, and since when.

    One per location and process: Django makes a cache object per thread, but an outage
    (and its log lines) belong to the process."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.since: float | None = None
        self.retry_at = 0.0
        self._lock = threading.Lock()

    def redis_worth_trying(self) -> bool:
        return self.since is None or time.monotonic() >= self.retry_at

    def began(self, error: Exception, *, retry_after: float) -> None:
        with self._lock:
            now = time.monotonic()
            first = self.since is None
            if first:
                self.since = now
            self.retry_at = now + retry_after
        if first:
            log.warning(
                "Redis cache at %s is unreachable (%s); this process now keeps rate limits "
                "and the page version in its own memory until Redis answers again",
                redacted(self.location),
                error,
            )

    def ended(self) -> None:
        if self.since is None:  # the common case, checked without the lock
            return
        with self._lock:
            if self.since is None:
                return
            lasted = time.monotonic() - self.since
            self.since = None
        log.warning(
            "Redis cache at %s answers again after %.1f s; shared rate limits resume",
            redacted(self.location),
            lasted,
        )


_outages: dict[str, Outage] = {}
_outages_lock = threading.Lock()


def outage_for(location: str) -> Outage:
    with _outages_lock:
        return _outages.setdefault(location, Outage(location))


class RedisCacheWithLocalFallback(RedisCache):
    """Django's RedisCache; on a connection error or timeout, a process-local LocMemCache.

    OPTIONS are RedisCache's (redis-py connection arguments, with short socket timeouts by
    default) plus `fallback_retry_seconds`: how long to stay on memory before trying Redis
    again."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = {**DEFAULT_OPTIONS, **params.get("OPTIONS", {})}
        self.retry_after = float(options.pop("fallback_retry_seconds", DEFAULT_RETRY_AFTER_SECONDS))
        super().__init__(server, {**params, "OPTIONS": options})
        location = server if isinstance(server, str) else ",".join(server)
        self.outage = outage_for(location)
        local_params = {
            name: params[name]
            for name in ("TIMEOUT", "KEY_PREFIX", "VERSION", "KEY_FUNCTION")
            if name in params
        }
        # LocMemCache shares its storage by name across the process's threads.
        self.local = LocMemCache(f"redis-fallback:{location}", local_params)

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.outage.redis_worth_trying():
            try:
                result = getattr(super(), name)(*args, **kwargs)
            except UNREACHABLE as error:
                self.outage.began(error, retry_after=self.retry_after)
            else:
                self.outage.ended()
                return result
        return getattr(self.local, name)(*args, **kwargs)

    # Every public operation of RedisCache; BaseCache builds the rest (decr, get_or_set,
    # the async variants) on these.
    def add(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> None:
        return self._call("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> int:
        return self._call("incr", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> list:
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        return self._call("delete_many", *args, **kwargs)

    def clear(self) -> bool:
        return self._call("clear")

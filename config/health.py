"""GET /healthz: 200 when the database and the Celery broker answer, 503 when not.

The public answer is the status only: error texts carry hosts, ports and connection
strings. Staff, and probes from this machine (REMOTE_ADDR on loopback, never a header a
client can write), also see what is failing and when a worker last beat.
"""

import ipaddress
import time

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app
from config.tasks import HEARTBEAT_KEY


def database_error() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any driver error means "not reachable"
        return f"{type(error).__name__}: {error}"
    return None


def broker_error() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def may_see_details(request) -> bool:
    if getattr(request, "user", None) is not None and request.user.is_staff:
        return True
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@never_cache
@require_GET
def healthz(request):
    checks = {"database": database_error(), "broker": broker_error()}
    failing = {name: error for name, error in checks.items() if error}
    status = 503 if failing else 200
    if not may_see_details(request):
        return JsonResponse({"status": "unavailable" if failing else "ok"}, status=status)
    body = {"status": "unavailable", "failing": failing} if failing else {"status": "ok"}
    # Informational: a worker that stopped beating is worth seeing, but the web tier can
    # still take gifts and webhooks without one, so it does not fail the check.
    try:
        beat = cache.get(HEARTBEAT_KEY)
    except Exception:  # the cache shares Redis with the broker, already reported above
        beat = None
    body["worker_last_seen_seconds_ago"] = round(time.time() - beat["at"]) if beat else None
    return JsonResponse(body, status=status)

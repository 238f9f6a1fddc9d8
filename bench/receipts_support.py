"""Shared set-up for the receipt benchmarks: a scratch database, donors and gifts.

The scratch database is Django's test database under a bench name (PostgreSQL when
DATABASE_URL points there, else a SQLite file under a temporary folder), migrated on
entry and dropped on exit. Mail goes to Django's in-memory backend, which still builds
every MIME message (PDF attachment base64-encoded), so only the SMTP hop is left out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECEIVED = dt.datetime(2026, 3, 12, 15, 30, tzinfo=dt.UTC)


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


@contextlib.contextmanager
def scratch_database(name: str) -> Iterator[Path]:
    """Yield a temporary media folder while a migrated scratch database is the default."""
    import logging

    from django.conf import settings
    from django.db import connection

    logging.disable(logging.INFO)
    media = Path(tempfile.mkdtemp(prefix=f"{name}-media-"))
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(media)}}}  # fmt: skip
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        # Two processes write at once: a deferred transaction that later wants to write
        # fails at once with "database is locked" (SQLite cannot wait there); an immediate
        # one takes the write lock up front and waits its turn.
        db["OPTIONS"] = {**db.get("OPTIONS", {}), "transaction_mode": "IMMEDIATE"}
        db["TEST"] = {
            **db.get("TEST", {}),
            "NAME": str(media.parent / f"{name}-{os.getpid()}.sqlite3"),
        }
    else:
        db["TEST"] = {**db.get("TEST", {}), "NAME": f"{name}_{os.getpid()}"}
    for key, default in (
        ("MIGRATE", True),
        ("CHARSET", None),
        ("COLLATION", None),
        ("MIRROR", None),
        ("TEMPLATE", None),
    ):
        db["TEST"].setdefault(key, default)
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield media
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def make_donors(count: int, *, gifts_each=lambda i: 1, year: int = 2026) -> None:
    """`count` donors with addresses, and gifts_each(i) succeeded gifts each in `year`."""
    from donations.models import Donation
    from members.models import Supporter

    Supporter.objects.bulk_create(
        Supporter(
            email=f"donor{i}@example.com",
            first_name="Ada",
            last_name=f"Reader{i}",
            address_line1=f"{i} Elm Street",
            city="Springfield",
            region="IL",
            postal_code="62704",
            country="US",
        )  # fmt: skip
        for i in range(count)
    )
    ids = list(Supporter.objects.order_by("pk").values_list("pk", flat=True))
    gifts = []
    for i, supporter_id in enumerate(ids):
        n = gifts_each(i)
        frequency = Donation.Frequency.MONTHLY if n >= 12 else Donation.Frequency.ONE_TIME
        for g in range(n):
            when = dt.datetime(year, 1 + (g % 12), 1 + (i % 27), 15, tzinfo=dt.UTC)
            gifts.append(
                Donation(
                    supporter_id=supporter_id,
                    amount=1500 if n >= 12 else 2500 + 100 * (i % 50),
                    frequency=frequency,
                    status="succeeded",
                    succeeded_at=when,
                    created_at=when,
                    stripe_payment_intent_id=f"pi_bench_{i}_{g}",
                )  # fmt: skip
            )
    Donation.objects.bulk_create(gifts, batch_size=5000)

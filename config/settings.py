"""Pledge's one settings module. Every value that differs between machines comes from
the environment through the strict helpers in config.env; the README lists them.

Embedded defaults (SQLite, kombu's filesystem broker, the Stripe emulator's address)
make `make demo` work on a bare machine. With DEBUG off the secrets are required and a
missing one stops start-up with its name.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_int, env_list, env_str
from lib.money import UnknownCurrency, check_currency, check_locale

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PLEDGE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
for _folder in ("staticfiles", "media", "cache", "celery"):
    (VAR_DIR / _folder).mkdir(parents=True, exist_ok=True)
PRODUCTION = not DEBUG


def _secret(name: str, development_default: str) -> str:
    """A value production must set; development and tests get a harmless default."""
    return env_str(name, required=True) if PRODUCTION else env_str(name, development_default)


SECRET_KEY = _secret("SECRET_KEY", "development-only-secret-key-not-for-production-use-0123456789")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("Set the environment variable ALLOWED_HOSTS.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "members",
    "donations",
    "receipts",
    "account",
    "config",  # the project: `manage.py deploy` and its deployment checks
    "staffauth",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "config.middleware.PermissionsPolicyMiddleware",
    "config.middleware.RefuseNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "staffauth.middleware.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.csp",
                "config.context_processors.organisation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# Persistent connections: one INSERT a request runs ~7x faster than reconnecting each time.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'pledge.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so a real Celery worker process can see the test database.
    DATABASES["default"]["TEST"] = {
        "NAME": env_str("SQLITE_TEST_NAME", str(VAR_DIR / "test-pledge.sqlite3"))
    }
for _database in DATABASES.values():
    if not _database["ENGINE"].endswith("sqlite3"):
        continue
    # The demo's gunicorn workers, Celery worker and beat all write to one file. WAL lets
    # readers run beside the single writer, and `timeout` makes a writer wait its turn.
    # Neither saves a deferred transaction that reads and then writes: if another
    # connection committed in between, SQLite refuses its upgrade to a write lock at once
    # with "database is locked" (SQLITE_BUSY_SNAPSHOT, the busy timeout is not asked).
    # IMMEDIATE takes the write lock at BEGIN, where the timeout does apply.
    # synchronous=NORMAL is WAL's documented pairing: a power cut may lose the last
    # commits but never corrupts the file, and a commit costs no fsync.
    _database["OPTIONS"] = {
        **_database.get("OPTIONS", {}),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: rate limits must hold across web processes, so never per-process memory ---
# ...except while Redis is unreachable: then each process serves the cache from its own
# memory (logged) rather than refusing gifts; see config/cache.py.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "config.cache.RedisCacheWithLocalFallback", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env_str("CACHE_DIR", str(VAR_DIR / "cache")),
        }
    }

# --- Celery ---------------------------------------------------------------------------
# Without Redis, kombu's filesystem transport lets a worker and beat run with no services.
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_FILESYSTEM_DIR = Path(env_str("CELERY_FILESYSTEM_DIR", str(VAR_DIR / "celery" / "queue")))
if not REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_DIR),
        "data_folder_out": str(CELERY_FILESYSTEM_DIR),
        "control_folder": str(CELERY_FILESYSTEM_DIR.parent / "control"),
        "store_processed": False,
    }
    # kombu's filesystem transport does not make its folders.
    for _folder in (CELERY_FILESYSTEM_DIR, CELERY_FILESYSTEM_DIR.parent / "control"):
        _folder.mkdir(parents=True, exist_ok=True)
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
# A worker killed mid-task leaves its message unacknowledged, so the task runs again;
# every task is written to be idempotent for exactly this reason.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
if REDIS_URL:
    # Redis hands an unacknowledged message (acks_late) to another worker only after the
    # visibility timeout. Nothing that matters waits for that: the webhook inbox and the
    # gift outbox are rows, and their sweeps re-send a killed worker's work within minutes.
    # So the timeout is kept long on purpose, above the longest countdown a task waits
    # while held unacknowledged (the inbox's retries cap at 30 minutes) and the longest
    # task (an export or a chunk of year-end statements): a shorter one would hand a task
    # still running, or still waiting for its ETA, to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 2 * 3600)
    }
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "heartbeat": {"task": "config.tasks.heartbeat", "schedule": 60.0},
}
CELERY_TIMEZONE = env_str("ORG_TIME_ZONE", "America/New_York")

# --- Stripe ---------------------------------------------------------------------------
from config import timeouts  # noqa: E402

# Development defaults point at the project's emulator (python -m fakestripe).
STRIPE_SECRET_KEY = _secret("STRIPE_SECRET_KEY", "sk_test_emulator")
STRIPE_PUBLISHABLE_KEY = _secret("STRIPE_PUBLISHABLE_KEY", "pk_test_emulator")
STRIPE_WEBHOOK_SECRET = _secret("STRIPE_WEBHOOK_SECRET", "whsec_emulator")
STRIPE_API_BASE = env_str(
    "STRIPE_API_BASE", "https://api.stripe.com" if PRODUCTION else "http://127.0.0.1:12111"
)
STRIPE_JS_URL = env_str(
    "STRIPE_JS_URL", "https://js.stripe.com/v3/" if PRODUCTION else "http://127.0.0.1:12111/v3/"
)
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 20)  # one try; less if time runs out
# gunicorn kills a worker this many seconds into a request (gunicorn.conf.py reads the same
# variable); all of a web request's Stripe calls together must end well before, so the donor
# gets our "try again" answer rather than the server's bare error page.
WEB_TIMEOUT_SECONDS = timeouts.web_timeout_seconds()
STRIPE_WEB_BUDGET_SECONDS = timeouts.stripe_web_budget_seconds(WEB_TIMEOUT_SECONDS)

# --- The organisation (printed on receipts) -------------------------------------------
ORG_NAME = env_str("ORG_NAME", "Pledge Demo Newsroom")
ORG_ADDRESS = env_str("ORG_ADDRESS", "1 Press Row, Springfield, IL 62701, USA")
ORG_TAX_ID = env_str("ORG_TAX_ID", "00-0000000")
ORG_JURISDICTION = env_choice("ORG_JURISDICTION", ("US", "CA", "UK"), "US")
try:
    ORG_CURRENCY = check_currency(env_str("ORG_CURRENCY", "usd"))
except UnknownCurrency as error:
    raise ImproperlyConfigured(f"ORG_CURRENCY: {error}") from None
# How money and numbers are written (Babel's locale names): the jurisdiction's English.
try:
    ORG_LOCALE = check_locale(
        env_str("ORG_LOCALE", {"US": "en_US", "CA": "en_CA", "UK": "en_GB"}[ORG_JURISDICTION])
    )
except UnknownCurrency as error:
    raise ImproperlyConfigured(f"ORG_LOCALE: {error}") from None
ORG_EMAIL = env_str("ORG_EMAIL", "giving@example.org")

# --- Email (Django 6.1 mailers) -------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"{ORG_NAME} <{ORG_EMAIL}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_mail_backend = env_choice(
    "MAIL_BACKEND", ("smtp", "file", "console"), "smtp" if PRODUCTION else "file"
)
if _mail_backend == "smtp":
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env_str("SMTP_HOST", "localhost"),
                "port": env_int("SMTP_PORT", 587),
                "username": env_str("SMTP_USER"),
                "password": env_str("SMTP_PASSWORD"),
                "use_tls": env_bool("SMTP_TLS", True),
                "timeout": 20,
            },
        }
    }
elif _mail_backend == "file":
    # The demo writes each message under var/mail so a newcomer can read the receipt.
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Staff sign-in (staffauth.throttle): failed passwords allowed per username from one IP,
# per username from anywhere, and per IP for any username, within the lockout window;
# past any of them the admin login refuses even the right password until it closes.
STAFF_LOGIN_FAILURES_PER_USER_AND_IP = env_int("STAFF_LOGIN_FAILURES_PER_USER_AND_IP", 5)
STAFF_LOGIN_FAILURES_PER_USER = env_int("STAFF_LOGIN_FAILURES_PER_USER", 20)
STAFF_LOGIN_FAILURES_PER_IP = env_int("STAFF_LOGIN_FAILURES_PER_IP", 30)
STAFF_LOGIN_LOCKOUT_SECONDS = env_int("STAFF_LOGIN_LOCKOUT_SECONDS", 900)
# Staff in these groups must set up an authenticator app (TOTP) before any staff page;
# anyone else may (staffauth). Recommended in production: Finance.
STAFF_2FA_REQUIRED_GROUPS = env_list("STAFF_2FA_REQUIRED_GROUPS")

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("ORG_TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "media")},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# The fonts under static/ are read from the checkout by the PDF renderers and never fetched
# by a browser: brotli-compressing their 5 MB took ~25 s of every release's collectstatic.
from whitenoise.compress import Compressor  # noqa: E402

WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "ttf"]

# --- Security (production) ------------------------------------------------------------
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# /healthz is probed by load balancers over plain HTTP on the internal network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# The public thank-you and decline pages ask Stripe about an unsettled gift at most once
# per gift and page in this many seconds (0: every request); settled gifts never.
DONATION_STATUS_REFRESH_SECONDS = env_int("DONATION_STATUS_REFRESH_SECONDS", 3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- The donation form (donations.forms, donations.checkout, donations.ratelimit) ------
# Amounts in minor units. Stripe's card fee (2.9% + 30c in the US) is what "cover the fee"
# adds; basis points so the page's JavaScript can repeat the sum in exact integers.
DONATION_MIN_AMOUNT = env_int("DONATION_MIN_AMOUNT", 100)
DONATION_MAX_AMOUNT = env_int("DONATION_MAX_AMOUNT", 2_500_000)
DONATION_FEE_BASIS_POINTS = env_int("DONATION_FEE_BASIS_POINTS", 290)
DONATION_FEE_FIXED = env_int("DONATION_FEE_FIXED", 30)
# Postal address on the form: Canada's official receipts and UK Gift Aid need it.
DONATION_ADDRESS_REQUIRED = env_bool("DONATION_ADDRESS_REQUIRED", ORG_JURISDICTION != "US")
DONATION_DEFAULT_COUNTRY = env_str(
    "DONATION_DEFAULT_COUNTRY", {"US": "US", "CA": "CA", "UK": "GB"}[ORG_JURISDICTION]
)
# Card testing: declined attempts per client IP and per email within the window, and gifts
# started per IP (a script that never reports its declines still hits this one).
DONATION_DECLINE_LIMIT = env_int("DONATION_DECLINE_LIMIT", 5)
DONATION_START_LIMIT = env_int("DONATION_START_LIMIT", 30)
DONATION_LIMIT_WINDOW_SECONDS = env_int("DONATION_LIMIT_WINDOW_SECONDS", 3600)
# A CAPTCHA hook: a dotted path to `check(request) -> bool`, asked once an IP or email has
# this many declines. Empty: no challenge (the hard limit above still holds).
# The shipped adapter is "donations.turnstile.passes" (Cloudflare Turnstile), with the
# TURNSTILE_* settings below.
DONATION_CHALLENGE_HOOK = env_str("DONATION_CHALLENGE_HOOK")
DONATION_CHALLENGE_AFTER = env_int("DONATION_CHALLENGE_AFTER", 3)
TURNSTILE_SITE_KEY = env_str("TURNSTILE_SITE_KEY")
TURNSTILE_SECRET_KEY = env_str("TURNSTILE_SECRET_KEY")
TURNSTILE_VERIFY_URL = env_str(
    "TURNSTILE_VERIFY_URL", "https://challenges.cloudflare.com/turnstile/v0/siteverify"
)
TURNSTILE_SCRIPT_URL = env_str(
    "TURNSTILE_SCRIPT_URL", "https://challenges.cloudflare.com/turnstile/v0/api.js"
)
TURNSTILE_TIMEOUT_SECONDS = env_int("TURNSTILE_TIMEOUT_SECONDS", 5)
if (
    not DEBUG
    and DONATION_CHALLENGE_HOOK == "donations.turnstile.passes"
    and not (TURNSTILE_SITE_KEY and TURNSTILE_SECRET_KEY)
):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "DONATION_CHALLENGE_HOOK names Turnstile: set TURNSTILE_SITE_KEY and TURNSTILE_SECRET_KEY."
    )
# Content-Security-Policy on every page (Django's middleware), Stripe's origins (and the
# challenge's, when Turnstile is the hook) the only third parties: see config/csp.py. A test
# that moves STRIPE_JS_URL, STRIPE_API_BASE or the challenge rebuilds both with policies_for.
from config.csp import TURNSTILE_HOOK, content_security_policy, permissions_policy  # noqa: E402

SECURE_CSP = content_security_policy(
    stripe_js_url=STRIPE_JS_URL,
    stripe_api_base=STRIPE_API_BASE,
    challenge_script_url=TURNSTILE_SCRIPT_URL if DONATION_CHALLENGE_HOOK == TURNSTILE_HOOK else "",
)
PERMISSIONS_POLICY = permissions_policy(stripe_js_url=STRIPE_JS_URL)
# A newsletter ticked on the form for an address the request cannot prove is its own is
# confirmed by an emailed link (double opt-in), valid this long.
NEWSLETTER_CONFIRM_MAX_AGE_SECONDS = env_int("NEWSLETTER_CONFIRM_MAX_AGE_SECONDS", 7 * 86400)
# Behind N trusted proxies the client's address is the Nth entry from the right of
# X-Forwarded-For; 0 trusts only REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Subscriptions name one Stripe product; created on first use when missing.
STRIPE_DONATION_PRODUCT_ID = env_str("STRIPE_DONATION_PRODUCT_ID", "pledge_donation")

# --- Receipts (receipts.rules, receipts.numbering, receipts.tasks) ---------------------
from celery.schedules import crontab  # noqa: E402


def _receipt_number_format(name: str, default: str) -> str:
    """A str.format pattern with {sequence} (and optionally {year}, {jurisdiction})."""
    pattern = env_str(name, default)
    try:
        sample = pattern.format(year=2026, sequence=123, jurisdiction="US")
    except (KeyError, ValueError, IndexError) as error:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"{name} is not a valid number format: {error}") from None
    if "{sequence" not in pattern or len(sample) > 50:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"{name} must contain {{sequence}} and give at most 50 characters."
        )
    return pattern


def _year_thresholds(name: str, default: str) -> dict[int, int]:
    """ "1994:7500,2030:10000" → {1994: 7500, 2030: 10000}: each applies from its year on."""
    try:
        pairs = [item.split(":") for item in env_str(name, default).split(",") if item.strip()]
        return {int(year): int(cents) for year, cents in pairs}
    except ValueError:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"{name} must look like 1994:7500,2030:10000 (year:cents)."
        ) from None


# Numbers: one series per jurisdiction and year (the year the gift was received, in the
# organisation's time zone); staff choose the printed pattern.
RECEIPT_NUMBER_FORMAT = _receipt_number_format("RECEIPT_NUMBER_FORMAT", "{year}-{sequence:06d}")
RECEIPT_STATEMENT_NUMBER_FORMAT = _receipt_number_format(
    "RECEIPT_STATEMENT_NUMBER_FORMAT", "S{year}-{sequence:06d}"
)
# US: IRC §6115 quid pro quo disclosure for payments over $75 (cents), by the year it applies from.
RECEIPT_US_QUID_PRO_QUO_THRESHOLDS = _year_thresholds(
    "RECEIPT_US_QUID_PRO_QUO_THRESHOLDS", "1994:7500"
)
RECEIPT_US_EXEMPTION_WORDING = env_str(
    "RECEIPT_US_EXEMPTION_WORDING",
    "a tax-exempt organization under section 501(c)(3) of the Internal Revenue Code",
)
# Canada: an official receipt names where it was issued and who signed it.
RECEIPT_CA_PLACE_OF_ISSUE = env_str("RECEIPT_CA_PLACE_OF_ISSUE", "")
RECEIPT_SIGNATORY = env_str("RECEIPT_SIGNATORY", "")
RECEIPT_CA_ADVANTAGE_LIMIT_PERCENT = env_int("RECEIPT_CA_ADVANTAGE_LIMIT_PERCENT", 80)
# The donor's "your receipts" link: signed, valid this many days.
RECEIPT_LINK_MAX_AGE_DAYS = env_int("RECEIPT_LINK_MAX_AGE_DAYS", 30)
# Year-end statements for the previous year, issued on this month and day at this hour.
RECEIPT_ANNUAL_STATEMENT_MONTH = env_int("RECEIPT_ANNUAL_STATEMENT_MONTH", 1)
RECEIPT_ANNUAL_STATEMENT_DAY = env_int("RECEIPT_ANNUAL_STATEMENT_DAY", 15)
RECEIPT_ANNUAL_STATEMENT_HOUR = env_int("RECEIPT_ANNUAL_STATEMENT_HOUR", 6)
# Statements' PDF renderer: "reportlab" (receipts.pdf_reportlab: several times faster, which
# the year-end run for every donor needs) or "weasyprint" (full HTML and CSS, slower).
RECEIPT_STATEMENT_RENDERER = env_choice(
    "RECEIPT_STATEMENT_RENDERER", ("reportlab", "weasyprint"), "reportlab"
)
CELERY_BEAT_SCHEDULE["receipts-annual-statements"] = {
    "task": "receipts.tasks.issue_last_years_statements",
    "schedule": crontab(
        minute=0,
        hour=RECEIPT_ANNUAL_STATEMENT_HOUR,
        day_of_month=RECEIPT_ANNUAL_STATEMENT_DAY,
        month_of_year=RECEIPT_ANNUAL_STATEMENT_MONTH,
    ),
}
# Renders and emails whose task was lost (broker down, worker killed) are picked up again.
CELERY_BEAT_SCHEDULE["receipts-sweep"] = {"task": "receipts.tasks.sweep", "schedule": 600.0}

# --- Finance exports (receipts/exports; helper E) ---------------------------------------
# The fiscal year starts on the first of this month; FY names follow the year it ends in
# ("end", as the US federal and most US nonprofit years) or the year it starts in.
FISCAL_YEAR_START_MONTH = env_int("FISCAL_YEAR_START_MONTH", 1)
if not 1 <= FISCAL_YEAR_START_MONTH <= 12:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"FISCAL_YEAR_START_MONTH must be 1-12; got {FISCAL_YEAR_START_MONTH}."
    )
FISCAL_YEAR_NAMED_BY = env_choice("FISCAL_YEAR_NAMED_BY", ("end", "start"), "end")
# Above these row counts an export runs as a Celery task writing a file under media,
# because gunicorn kills a sync worker `timeout` seconds into a request (30 s by default)
# and a client on a slow line could take that long to read the ~17 MB of 50,000 rows
# (~335 bytes a row). .xlsx is built whole before its first byte can leave, at ~3,000
# rows a second (openpyxl), so its limit keeps that wait under two seconds.
EXPORT_SYNC_MAX_ROWS = env_int("EXPORT_SYNC_MAX_ROWS", 50_000)
EXPORT_XLSX_SYNC_MAX_ROWS = env_int("EXPORT_XLSX_SYNC_MAX_ROWS", 5_000)
# The export task lives in its own module beside receipts/tasks.py; Celery's `imports`
# setting is the documented way to register a module autodiscovery does not look for.
CELERY_IMPORTS = ("receipts.tasks_export",)

# --- Stripe webhook inbox (donations.webhooks, donations.inbox, donations.tasks) --------
# A pending row older than this is taken to have lost its task, and the sweep enqueues it.
STRIPE_INBOX_STUCK_AFTER_SECONDS = env_int("STRIPE_INBOX_STUCK_AFTER_SECONDS", 120)
# An event whose processing keeps failing is tried this many times (over about two hours
# of backoff), then marked failed for staff; a Stripe 404 fails it at once.
STRIPE_INBOX_MAX_ATTEMPTS = env_int("STRIPE_INBOX_MAX_ATTEMPTS", 12)
# How long a row handed to a task (by the sweep, or its own retry past its countdown) is
# left alone by the sweep: longer than the sweep's interval, so one row has one chain.
STRIPE_INBOX_LEASE_SECONDS = env_int("STRIPE_INBOX_LEASE_SECONDS", 900)
# The sweep lists Stripe's events from the newest one stored less this overlap (Stripe's
# clock), or, with an empty inbox, this far back. Stripe keeps events for 30 days.
STRIPE_EVENT_SWEEP_OVERLAP_SECONDS = env_int("STRIPE_EVENT_SWEEP_OVERLAP_SECONDS", 3600)
STRIPE_EVENT_SWEEP_LOOKBACK_SECONDS = env_int("STRIPE_EVENT_SWEEP_LOOKBACK_SECONDS", 3 * 86400)
# "batched": a thread per web process publishes new events' tasks in one message every
# 50 ms, off the request path (donations.publisher); "direct": one publish per request.
STRIPE_WEBHOOK_ENQUEUE = env_choice("STRIPE_WEBHOOK_ENQUEUE", ("batched", "direct"), "batched")
CELERY_BEAT_SCHEDULE["donations-stripe-inbox-sweep"] = {
    "task": "donations.tasks.sweep_stripe_inbox",
    "schedule": float(env_int("STRIPE_INBOX_SWEEP_SECONDS", 300)),
}

# --- The gift outbox (donations.hooks, donations.outbox) ------------------------------------
# A consequence row (receipt, membership...) still pending this long lost its task (the
# broker was down at commit, a worker was killed); the sweep sends it again. The sweep
# also finds succeeded gifts with no receipt and tiers that disagree with giving.
GIFT_CONSEQUENCE_STUCK_AFTER_SECONDS = env_int("GIFT_CONSEQUENCE_STUCK_AFTER_SECONDS", 60)
# How far back the sweep's questions look (gifts that succeeded or changed since), so a
# sweep every minute reads an index range, not every gift ever. The daily membership
# refresh still looks at everyone.
GIFT_OUTBOX_LOOKBACK_DAYS = env_int("GIFT_OUTBOX_LOOKBACK_DAYS", 30)
CELERY_BEAT_SCHEDULE["donations-gift-outbox-sweep"] = {
    "task": "donations.tasks.sweep_gift_consequences",
    "schedule": float(env_int("GIFT_OUTBOX_SWEEP_SECONDS", 60)),
}

# --- Memberships (donations.memberships) ------------------------------------------------
# Daily, so a yearly gift ages out of its tier twelve months on without any event.
CELERY_BEAT_SCHEDULE["donations-refresh-memberships"] = {
    "task": "donations.memberships.refresh_all_memberships",
    "schedule": 86400.0,
}
# WeasyPrint logs every rendering step at INFO; only its warnings matter.
LOGGING["loggers"]["weasyprint.progress"] = {"level": "WARNING"}

# --- Donor accounts (account/, members.signin) -------------------------------------------
# Emailed sign-in links work once and for this long.
SIGNIN_LINK_MAX_AGE_SECONDS = env_int("SIGNIN_LINK_MAX_AGE_SECONDS", 3600)
# Sign-in emails a client IP can ask for in an hour (mail bombing, probing).
SIGNIN_REQUESTS_PER_HOUR = env_int("SIGNIN_REQUESTS_PER_HOUR", 5)
# Requests for one address within this many seconds send one email (the first); an
# address is never refused, so nobody can lock its owner out by asking for it.
SIGNIN_COALESCE_SECONDS = env_int("SIGNIN_COALESCE_SECONDS", 300)

# --- Abandoned gifts (donations.abandoned) ------------------------------------------------
# A one-time gift still unpaid this long after it was started is cancelled at Stripe.
ABANDONED_GIFT_HOURS = env_int("ABANDONED_GIFT_HOURS", 24)
CELERY_BEAT_SCHEDULE["donations-cancel-abandoned-gifts"] = {
    "task": "donations.abandoned.cancel_abandoned_gifts",
    "schedule": 3600.0,
}

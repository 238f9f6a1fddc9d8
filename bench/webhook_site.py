"""Settings for bench_webhook_intake's gunicorn: the project's own, with a URLconf that
adds the baseline view (bench.webhook_urls)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.webhook_urls"

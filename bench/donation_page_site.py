"""Settings for bench_donation_page's gunicorn: the project's own (production mode), with
a URLconf that adds the baseline view (bench.donation_page_urls)."""

from config.settings import *  # noqa: F403
from config.settings import STORAGES

ROOT_URLCONF = "bench.donation_page_urls"
# The manifest storage needs `collectstatic` first; the page's static URLs are the only
# difference and they cost the same either way (the page is built once).
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

"""gunicorn's settings, read from the project folder (`gunicorn config.wsgi`, the demo).

The timeout comes from WEB_TIMEOUT_SECONDS, the same value config.settings derives the
Stripe budget of a request from, so the two cannot drift apart."""

import sys
from pathlib import Path

# The `gunicorn` script does not put the project folder on the path before reading this.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from config.timeouts import web_timeout_seconds  # noqa: E402

timeout = web_timeout_seconds()

"""Deployment checks (`manage.py check --deploy`) for what Django's own do not see."""

import os

from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.staticfiles, deploy=True)
def static_files_collected(app_configs=None, **kwargs) -> list[CheckMessage]:
    """With manifest storage (production), `{% static %}` looks each file up in the
    manifest that `collectstatic` writes into STATIC_ROOT. Without it, or with one from an
    earlier release that lacks a new file, gunicorn starts cleanly and every page that
    links a missing file answers 500; this check stops the release instead."""
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return []
    try:
        collected, _ = staticfiles_storage.load_manifest()
    except ValueError as error:
        collected, problem = {}, str(error)
    else:
        problem = ""
    ignore_patterns = apps.get_app_config("staticfiles").ignore_patterns
    found = {
        path.replace(os.sep, "/")
        for finder in get_finders()
        for path, _storage in finder.list(ignore_patterns)
    }
    missing = sorted(found - collected.keys())
    if not missing:
        return []
    return [
        Error(
            f"{len(missing)} static file(s) are not collected into STATIC_ROOT "
            f"({settings.STATIC_ROOT}), for example {missing[0]!r}: every page linking one "
            f"would answer 500. {problem}".strip(),
            hint="Run `manage.py deploy` (or `manage.py collectstatic --noinput`) for each "
            "release, before starting gunicorn.",
            id="pledge.E001",
        )
    ]

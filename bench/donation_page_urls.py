"""The project's URLs plus the baseline the donation page is measured against: a bare
view returning the page's bytes from memory (read once from the file the bench wrote)."""

import os
from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


@cache
def _body() -> bytes:
    return Path(os.environ["BENCH_PAGE_BODY"]).read_bytes()


def bare_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_body(), content_type="text/html; charset=utf-8")


urlpatterns = [
    path("bench/bare-page/", bare_page),
    path("", include("config.urls")),
]

"""Receipt PDFs: a Django template rendered by WeasyPrint, from the frozen snapshot only.

(Year-end statements go through ReportLab unless RECEIPT_STATEMENT_RENDERER says
"weasyprint": see receipts.pdf_reportlab and render_pdf below.)

One Renderer per process keeps WeasyPrint's FontConfiguration, the parsed stylesheet
(with its @font-face rules, so each font file is read and parsed once) and the resource
cache between documents; a fresh one costs tens of milliseconds a page. Its URL fetcher
serves only files under the project's static folder: a receipt can never make the
renderer reach the network or read other files.
"""

from __future__ import annotations

import functools
from pathlib import Path

import weasyprint
from django.conf import settings
from django.template.loader import render_to_string
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from lib.text import clean_text

STATIC_DIR = Path(settings.BASE_DIR) / "static"
STYLESHEET = STATIC_DIR / "receipts" / "receipt.css"
TEMPLATES = {"gift": "receipts/pdf/receipt.html", "annual": "receipts/pdf/statement.html"}
CONTENT_TYPES = {
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".css": "text/css",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


class RefusedURL(ValueError):
    """A template or stylesheet asked for something outside the project's static files."""


class StaticFilesOnly(URLFetcher):
    """Serves file: URLs inside `root` and refuses everything else, loudly."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        # Deliberately not calling URLFetcher.__init__: it builds urllib handlers and an
        # SSL context (~30 ms a document) for network access we never allow.
        self.root = root.resolve()
        self._fail_on_errors = True

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        if not url.startswith("file://"):
            raise RefusedURL(f"refused {url!r}: receipts may use only the project's static files")
        path = Path(url.removeprefix("file://").split("?")[0].split("#")[0]).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise RefusedURL(f"refused {url!r}: not a static file of the project")
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": content_type})


class Renderer:
    def __init__(self) -> None:
        self.fetcher = StaticFilesOnly()
        self.font_config = FontConfiguration()
        self.stylesheet = weasyprint.CSS(
            filename=str(STYLESHEET), font_config=self.font_config, url_fetcher=self.fetcher
        )
        self.cache: dict = {}
        self.base_url = STYLESHEET.as_uri()

    def html(self, snapshot: dict, *, void: bool = False, copy: bool = False) -> str:
        template = TEMPLATES[snapshot["kind"]]
        return render_to_string(template, {"s": snapshot, "void": void, "copy": copy})

    def render(self, snapshot: dict, *, void: bool = False, copy: bool = False) -> bytes:
        return self.render_html(self.html(snapshot, void=void, copy=copy))

    def render_html(self, html: str) -> bytes:
        # What the snapshot froze may carry characters no PDF can hold (older rows, Stripe).
        html = clean_text(html)
        document = weasyprint.HTML(string=html, base_url=self.base_url, url_fetcher=self.fetcher)
        return document.write_pdf(
            stylesheets=[self.stylesheet], font_config=self.font_config, cache=self.cache
        )


@functools.cache
def renderer() -> Renderer:
    """The process's renderer (Celery prefork children each build their own on first use)."""
    return Renderer()


def render_pdf(snapshot: dict, *, void: bool = False, copy: bool = False) -> bytes:
    """Gift receipts always through WeasyPrint; year-end statements through the renderer
    settings.RECEIPT_STATEMENT_RENDERER names (ReportLab by default: see receipts.pdf_reportlab
    for why)."""
    if snapshot["kind"] == "annual" and settings.RECEIPT_STATEMENT_RENDERER == "reportlab":
        from receipts import pdf_reportlab

        return pdf_reportlab.renderer().render(snapshot, void=void, copy=copy)
    return renderer().render(snapshot, void=void, copy=copy)

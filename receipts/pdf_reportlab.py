"""Year-end statements drawn by ReportLab from an editable Django template.

Why not WeasyPrint here. The year-end run renders one statement per donor, 100,000 of
them within 20 minutes on 2 cores (docs/architecture.md): 24 ms of CPU a statement at most, for
everything (issuing, rendering, storing, emailing). WeasyPrint, even with its fonts,
stylesheet and caches reused and the gift lines set as preformatted text instead of a
table (receipts.pdf, statement.html), spends ~25 ms on the PDF alone (CSS cascade and
Pango layout ~15 ms, PDF writing ~10 ms): ~31 ms a statement end to end, ~26 minutes for
100,000 donors. Its cost is the general machinery (cascade, shaping, a full layout tree),
not anything a statement needs, so no further tuning gets it under 24 ms. ReportLab sets a
handful of paragraphs and one table in plain Python and writes the PDF directly: ~7 ms a
statement, ~11 ms end to end, ~10 minutes for 100,000 donors (measured in one run, both
renderers, by bench/bench_annual_statements.py).

What stays editable. The words and their order live in a Django template,
templates/receipts/pdf/statement.rl.html, rendered from the same frozen snapshot as the
HTML statement, with the same legal wording (the snapshot's `rules.statements`). Its
markup is a deliberately small subset of HTML that a non-programmer can edit like the HTML
one: <h1>, <h2>, <p class="...">, <table> with <tr class="head|total"> and <td>, and
inside a paragraph ReportLab's own mini-markup (<b>, <i>, <br/>, <font color="...">).
The look (sizes, colours, spacing) is the STYLES table below, mirroring
static/receipts/receipt.css. An organisation that wants full HTML and CSS sets
RECEIPT_STATEMENT_RENDERER=weasyprint and gets templates/receipts/pdf/statement.html.

Fonts: the project's own files (static/fonts), registered once per process. ReportLab
always embeds TrueType fonts as subsets, so the PDF never depends on the reader's machine.
DejaVu covers Latin, Greek, Cyrillic and more; a run of characters it lacks (a Chinese,
Japanese or Korean name) is set in Droid Sans Fallback instead, so any donor's name prints. Nothing is read
from outside static/fonts and nothing is fetched from the network.
"""

from __future__ import annotations

import functools
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from django.template.loader import render_to_string
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from lib.text import clean_text

FONTS_DIR = Path(settings.BASE_DIR) / "static" / "fonts"
TEMPLATE = "receipts/pdf/statement.rl.html"
SANS, SANS_BOLD, FALLBACK = "Receipt Sans", "Receipt Sans Bold", "Receipt Fallback"
INK, MUTED, ALERT = (
    colors.HexColor("#111111"),
    colors.HexColor("#555555"),
    colors.HexColor("#bb0000"),
)


class MarkupError(ValueError):
    """The statement template produced markup this renderer does not understand."""


@functools.cache
def register_fonts() -> frozenset[int]:
    """Once per process: parsing a TrueType file costs more than drawing a statement.
    Returns the code points the main face covers."""
    for name, filename in (
        (SANS, "DejaVuSans.ttf"),
        (SANS_BOLD, "DejaVuSans-Bold.ttf"),
        (FALLBACK, "DroidSansFallback.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, str(FONTS_DIR / filename)))
    # No italic face ships with the project; <i> falls back to the upright one.
    pdfmetrics.registerFontFamily(
        SANS, normal=SANS, bold=SANS_BOLD, italic=SANS, boldItalic=SANS_BOLD
    )
    pdfmetrics.registerFontFamily(
        FALLBACK, normal=FALLBACK, bold=FALLBACK, italic=FALLBACK, boldItalic=FALLBACK
    )
    return frozenset(pdfmetrics.getFont(SANS).face.charToGlyph)


TAG_OR_TEXT = re.compile(r"(<[^>]*>)|([^<]+)")


def with_fallback_font(markup: str) -> str:
    """Wrap each run of characters DejaVu lacks in the fallback font; ReportLab, unlike a
    browser, does not pick another font by itself (it would print empty boxes)."""
    if markup.isascii():  # nearly every statement: nothing to look at
        return markup
    covered = register_fonts()

    def text(match: re.Match) -> str:
        if match.group(1) or match.group(2).isascii():
            return match.group(0)
        out, run, missing = [], [], False
        for char in match.group(2):
            lacks = ord(char) not in covered and not char.isspace()
            if lacks != missing and run:
                out.append(_font_run("".join(run), missing))
                run = []
            missing = lacks
            run.append(char)
        out.append(_font_run("".join(run), missing))
        return "".join(out)

    return TAG_OR_TEXT.sub(text, markup)


def _font_run(text: str, missing: bool) -> str:
    return f'<font name="{FALLBACK}">{text}</font>' if missing else text


def _style(name: str, **overrides) -> ParagraphStyle:
    base = {
        "fontName": SANS,
        "fontSize": 9.5,
        "leading": 12.8,
        "textColor": INK,
        "spaceAfter": 5,
        "alignment": TA_LEFT,
    }
    return ParagraphStyle(name, **{**base, **overrides})


# The look of each block, by tag or class (the counterpart of receipt.css).
STYLES: dict[str, ParagraphStyle] = {
    "p": _style("p", spaceAfter=6),
    "h1": _style("h1", fontName=SANS_BOLD, fontSize=15, leading=18, spaceAfter=2),
    "h2": _style("h2", fontName=SANS_BOLD, fontSize=12, leading=15, spaceBefore=10, spaceAfter=2),
    "muted": _style("muted", textColor=MUTED),
    "org": _style("org", textColor=MUTED, spaceAfter=10),
    "ref": _style("ref", fontName=SANS_BOLD, spaceBefore=4, spaceAfter=8),
    "donor": _style("donor", spaceAfter=10),
    "copy": _style("copy", fontName=SANS_BOLD, textColor=MUTED, spaceAfter=6),
    "banner": _style(
        "banner",
        fontName=SANS_BOLD,
        fontSize=14,
        leading=17,
        textColor=ALERT,
        borderColor=ALERT,
        borderWidth=2,
        borderPadding=4,
        spaceBefore=4,
        spaceAfter=12,
    ),
    "signature": _style("signature", spaceBefore=18),
}
TABLE_FONT_SIZE = 8.5


def _inner_markup(element: ET.Element) -> str:
    """A paragraph's content as ReportLab mini-markup (text re-escaped, tags kept)."""
    parts = [escape(element.text or "")]
    parts.extend(ET.tostring(child, encoding="unicode") for child in element)
    return "".join(parts).strip()


def _paragraph(element: ET.Element) -> Paragraph:
    key = element.get("class") or element.tag
    try:
        style = STYLES[key]
    except KeyError:
        raise MarkupError(f"unknown paragraph style {key!r}; known: {sorted(STYLES)}") from None
    return Paragraph(with_fallback_font(_inner_markup(element)), style)


def _table(element: ET.Element, width: float) -> Table:
    """Rows of plain-text cells: drawn as strings, no paragraph layout per cell."""
    rows, heads, totals = [], [], []
    for index, row in enumerate(element.iter("tr")):
        rows.append([(cell.text or "").strip() for cell in row.iter("td")])
        kind = row.get("class", "")
        if kind == "head":
            heads.append(index)
        elif kind == "total":
            totals.append(index)
    if not rows:
        raise MarkupError("a <table> needs at least one <tr>")
    columns = len(rows[0])
    shares = [float(w) for w in element.get("widths", "").split()] or [1.0] * columns
    align = element.get("align", "L" * columns)
    if len(shares) != columns or len(align) != columns:
        raise MarkupError("a <table>'s widths and align must name every column")
    scale = width / sum(shares)
    commands = [
        ("FONT", (0, 0), (-1, -1), SANS, TABLE_FONT_SIZE),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]
    for column, side in enumerate(align):
        commands.append(
            ("ALIGN", (column, 0), (column, -1), {"L": "LEFT", "R": "RIGHT", "C": "CENTER"}[side])
        )
    for index in heads:
        commands += [
            ("FONT", (0, index), (-1, index), SANS_BOLD, TABLE_FONT_SIZE),
            ("LINEBELOW", (0, index), (-1, index), 0.75, INK),
        ]
    for index in totals:
        commands += [
            ("FONT", (0, index), (-1, index), SANS_BOLD, TABLE_FONT_SIZE),
            ("LINEABOVE", (0, index), (-1, index), 0.75, INK),
        ]
    table = Table(
        rows,
        colWidths=[share * scale for share in shares],
        repeatRows=len(heads) if heads == list(range(len(heads))) else 0,
        hAlign="LEFT",
        spaceBefore=6,
        spaceAfter=10,
    )
    table.setStyle(TableStyle(commands))
    return table


def flowables(markup: str, width: float) -> tuple[dict[str, str], list]:
    """Parse the template's output into ReportLab blocks; returns (document attributes, blocks)."""
    try:
        root = ET.fromstring(markup)
    except ET.ParseError as error:
        raise MarkupError(f"the statement template gave malformed markup: {error}") from None
    story: list = []
    for element in root:
        if element.tag == "table":
            story.append(_table(element, width))
        elif element.tag == "space":
            story.append(Spacer(width, float(element.get("height", "6"))))
        else:
            story.append(_paragraph(element))
    return dict(root.attrib), story


class StatementRenderer:
    """Renders statement snapshots; one per process (fonts are registered on creation)."""

    margins = {"leftMargin": 18 * mm, "rightMargin": 18 * mm, "topMargin": 16 * mm}

    def __init__(self) -> None:
        register_fonts()

    def markup(self, snapshot: dict, *, void: bool = False, copy: bool = False) -> str:
        return render_to_string(TEMPLATE, {"s": snapshot, "void": void, "copy": copy})

    def render(self, snapshot: dict, *, void: bool = False, copy: bool = False) -> bytes:
        return self.render_markup(self.markup(snapshot, void=void, copy=copy))

    def render_markup(self, markup: str) -> bytes:
        out = io.BytesIO()
        document = SimpleDocTemplate(
            out,
            pagesize=LETTER,
            bottomMargin=18 * mm,
            # Else the canvas starts in Helvetica, a font that is neither ours nor embedded.
            initialFontName=SANS,
            **self.margins,
        )
        # A control character in a name would make the markup malformed XML (older rows,
        # Stripe): removed here, once for the whole document.
        attributes, story = flowables(clean_text(markup), document.width)
        document.title = attributes.get("title", "")
        document.author = attributes.get("author", "")
        document.creator = "Pledge"
        footer = attributes.get("footer", "")

        def on_page(canvas, doc) -> None:
            if footer:
                canvas.setFont(SANS, 7.5)
                canvas.setFillColor(MUTED)
                canvas.drawString(
                    doc.leftMargin, 10 * mm, f"{footer} · page {canvas.getPageNumber()}"
                )

        document.build(story, onFirstPage=on_page, onLaterPages=on_page)
        return out.getvalue()


@functools.cache
def renderer() -> StatementRenderer:
    """The process's statement renderer (each Celery prefork child builds its own)."""
    return StatementRenderer()

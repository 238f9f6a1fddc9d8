"""The tests' own PDF reader: the receipt tests lean on it, so it must see what's wrong."""

import io
from pathlib import Path

import weasyprint
from django.conf import settings
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from tests.receipts.pdf_reading import fonts_drawing, pdf_fonts, pdf_text

FONTS = Path(settings.BASE_DIR) / "static" / "fonts"


def reportlab_pdf(draw) -> bytes:
    pdfmetrics.registerFont(TTFont("TestDejaVu", str(FONTS / "DejaVuSans.ttf")))
    out = io.BytesIO()
    page = canvas.Canvas(out)
    draw(page)
    page.save()
    return out.getvalue()


def test_a_kerned_word_reads_back_whole():
    def draw(page):
        page.setFont("Helvetica", 12)
        page.drawString(72, 700, "first line")
        # A word drawn in kerned pieces, as layout engines do: "To" and "day" 0.15 em apart.
        page._code.append("BT /F1 12 Tf 72 720 Td [(Wa) 80 (vering) ( ) (To) 150 (day)] TJ ET")

    text = pdf_text(reportlab_pdf(draw))

    assert "Wavering Today" in text and "first line" in text


def test_a_standard_font_is_listed_as_not_embedded_and_a_truetype_one_as_embedded():
    def draw(page):
        page.setFont("Helvetica", 12)
        page.drawString(72, 700, "plain")
        page.setFont("TestDejaVu", 12)
        page.drawString(72, 680, "Жуковская")

    content = reportlab_pdf(draw)
    fonts = {font.family: font for font in pdf_fonts(content)}

    assert not fonts["Helvetica"].embedded and not fonts["Helvetica"].subset
    assert fonts["DejaVuSans"].embedded and fonts["DejaVuSans"].subset
    drawn = fonts_drawing(content, "pЖ")
    assert {font.family for font in drawn["p"]} == {"Helvetica"}
    assert {font.family for font in drawn["Ж"]} == {"DejaVuSans"}


def test_a_composite_font_is_embedded_only_if_its_descendant_carries_the_program():
    content = weasyprint.HTML(
        string=f"""<style>@font-face {{ font-family: Probe; src: url(file://{FONTS}/DejaVuSans.ttf); }}
        p {{ font-family: Probe }}</style><p>Жуковская</p>"""
    ).write_pdf()
    [font] = [font for font in pdf_fonts(content) if font.family == "Probe"]
    assert font.type == "Type0" and font.embedded

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    for ref in writer.pages[0]["/Resources"]["/Font"].values():
        for descendant in ref.get_object()["/DescendantFonts"]:
            descriptor = descendant.get_object()["/FontDescriptor"].get_object()
            for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                descriptor.pop(NameObject(key), None)
    stripped = io.BytesIO()
    writer.write(stripped)

    [font] = [font for font in pdf_fonts(stripped.getvalue()) if font.family == "Probe"]
    assert not font.embedded
    assert all(not f.embedded for f in fonts_drawing(stripped.getvalue(), "Ж")["Ж"])

"""Reading a PDF back in tests with pypdf alone (no poppler on the machine): its words, the
fonts it carries and whether each is embedded, and which font drew a given character."""

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.generic import DictionaryObject

# A subset font's name starts with six capitals and a plus (ISO 32000-1, 9.6.4).
_SUBSET_TAG = re.compile(r"^[A-Z]{6}\+")
_FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


def _reader(content: bytes) -> PdfReader:
    assert content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) >= 1  # a well-formed PDF, too
    return reader


def pdf_text(content: bytes) -> str:
    """The PDF's words with whitespace collapsed, so wording matches across line breaks.

    Layout mode places each glyph by its advance, so a word drawn as kerned pieces
    (`[(To) 150 (day)] TJ`) reads back whole; the default mode splits it at the kern."""
    reader = _reader(content)
    text = "\n".join(page.extract_text(extraction_mode="layout") for page in reader.pages)
    return " ".join(text.split())


@dataclass(frozen=True)
class PdfFont:
    name: str  # BaseFont, without the slash: "ABCDEF+DejaVuSans"
    type: str  # Subtype: "Type0", "TrueType", "Type1", "Type3"
    embedded: bool

    @property
    def subset(self) -> bool:
        return bool(_SUBSET_TAG.match(self.name))

    @property
    def family(self) -> str:
        """The name without its subset tag."""
        return _SUBSET_TAG.sub("", self.name)


def _is_embedded(font: DictionaryObject) -> bool:
    if font.get("/Subtype") == "/Type3":
        return True  # its glyphs are content streams inside the PDF
    if font.get("/Subtype") == "/Type0":
        # A composite font's program sits with its descendant CIDFont.
        return all(_is_embedded(d.get_object()) for d in font["/DescendantFonts"])
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False  # one of the standard 14, left to the reader
    descriptor = descriptor.get_object()
    return any(key in descriptor for key in _FONT_FILES)


def _pdf_font(font: DictionaryObject) -> PdfFont:
    return PdfFont(
        name=str(font.get("/BaseFont", "")).lstrip("/"),
        type=str(font.get("/Subtype", "")).lstrip("/"),
        embedded=_is_embedded(font),
    )


def _font_dicts(resources: DictionaryObject | None, seen: set[int]) -> Iterator[DictionaryObject]:
    """Fonts in a resource dictionary and in the form XObjects it draws, once each."""
    if resources is None:
        return
    resources = resources.get_object()
    for ref in (resources.get("/Font") or {}).values():
        font = ref.get_object()
        if id(font) not in seen:
            seen.add(id(font))
            yield font
    for ref in (resources.get("/XObject") or {}).values():
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Form" and id(xobject) not in seen:
            seen.add(id(xobject))
            yield from _font_dicts(xobject.get("/Resources"), seen)


def pdf_fonts(content: bytes) -> list[PdfFont]:
    """Every font the pages use, as poppler's pdffonts lists them."""
    seen: set[int] = set()
    fonts = []
    for page in _reader(content).pages:
        for font in _font_dicts(page.get("/Resources"), seen):
            fonts.append(_pdf_font(font))
    return fonts


def fonts_drawing(content: bytes, characters: str) -> dict[str, set[PdfFont]]:
    """For each of `characters`, the fonts the page's text operators drew it with.

    Reading the text back is not enough: a name whose glyphs came out as empty boxes still
    reads back through the font's ToUnicode map. The font that drew it is the proof."""
    drawn: dict[str, set[PdfFont]] = {character: set() for character in characters}

    def visit(text, _cm, _tm, font, _size) -> None:
        if font is None:
            return
        for character in set(text) & drawn.keys():
            drawn[character].add(_pdf_font(font))

    for page in _reader(content).pages:
        page.extract_text(visitor_text=visit)
    return drawn

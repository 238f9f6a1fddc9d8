"""Text that cannot break a renderer: one definition of what is unsafe, one cleaner.

Names, addresses and dedications come from strangers (the form) and from Stripe. Some
characters have no place in them and break the tools that print them: C0 and C1 control
characters (XML 1.0, hence the ReportLab statement template, and openpyxl refuse them; a
line break in an email subject is a header injection), Unicode noncharacters (U+FFFE,
U+FDD0..U+FDEF, the last two of every plane) and lone surrogates (no UTF-8 encoding, so
no database, file or PDF can hold them). NUL is a control character too (PostgreSQL text
refuses it).

Forms refuse them with `unsafe_character` (a message next to the field); every renderer
and export passes what older rows or Stripe still carry through `clean_text`.
"""

import re

# Tab, line feed and carriage return are ordinary in multi-line text (an address, a note)
# and legal in XML; every other C0/C1 control character is not.
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17)
)
_SURROGATES = "\ud800-\udfff"
UNSAFE = re.compile(f"[{_CONTROL}{_NONCHARACTERS}{_SURROGATES}]")
LINE_BREAKS = re.compile("[\t\n\r]")


def unsafe_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character of `text` that has no place in it, or None.

    Single-line text (a name) also refuses tab and line breaks."""
    found = UNSAFE.search(text)
    if found is None and not multiline:
        found = LINE_BREAKS.search(text)
    return found.group() if found else None


def describe(char: str) -> str:
    """'U+000B' for the message shown to the person who typed it."""
    return f"U+{ord(char):04X}"


def clean_text(text: str) -> str:
    """`text` without the unsafe characters (tab and line breaks are kept). Cheap when
    there is nothing to remove, which is nearly always: one scan, no copy."""
    if UNSAFE.search(text) is None:
        return text
    return UNSAFE.sub("", text)


def clean_line(text: str) -> str:
    """As clean_text, and tab and line breaks become spaces (a subject, a table cell)."""
    return LINE_BREAKS.sub(" ", clean_text(text))

"""Money arithmetic for the form: parsing what donors type, the card fee they may cover,
and how amounts are shown. Integers in minor units throughout, never floats.

static/js/donate.js repeats `cover_fee` and `format_amount` exactly; a test keeps them
in step.
"""

from decimal import Decimal, InvalidOperation

from django.conf import settings

_SYMBOLS = {"usd": "$", "cad": "CA$", "aud": "A$", "nzd": "NZ$", "gbp": "£", "eur": "€"}


class AmountError(ValueError):
    """What the donor typed is not an amount of money."""


def parse_amount(text: str) -> int:
    """'25', '$1,000.50', ' 7.5 ' → minor units. Refuses anything else, including more
    than two decimals, exponents, NaN and infinities."""
    cleaned = text.strip().replace(",", "").replace(" ", "")
    for symbol in sorted(_SYMBOLS.values(), key=len, reverse=True):
        cleaned = cleaned.removeprefix(symbol)
    if not cleaned or len(cleaned) > 15 or not all(ch.isdigit() or ch == "." for ch in cleaned):
        raise AmountError(text)
    if not cleaned.isascii() or cleaned.count(".") > 1:
        raise AmountError(text)
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise AmountError(text) from None
    cents = value * 100
    if cents != cents.to_integral_value():
        raise AmountError(text)
    return int(cents)


def stripe_fee(amount: int) -> int:
    """Stripe's fee on a charge of `amount`: a percentage rounded half up, plus a fixed part."""
    return (
        amount * settings.DONATION_FEE_BASIS_POINTS + 5_000
    ) // 10_000 + settings.DONATION_FEE_FIXED


def cover_fee(gift: int) -> int:
    """The extra that makes what reaches us (total less Stripe's fee) equal the gift.

    The smallest total whose net is at least the gift: start from the exact division,
    rounded up, then step down while the smaller total still nets the gift (the fee's own
    rounding can allow one cent less)."""
    rate = settings.DONATION_FEE_BASIS_POINTS
    total = -(-(gift + settings.DONATION_FEE_FIXED) * 10_000 // (10_000 - rate))
    while total - 1 - stripe_fee(total - 1) >= gift:
        total -= 1
    while total - stripe_fee(total) < gift:
        total += 1
    return total - gift


def format_amount(amount: int, currency: str | None = None) -> str:
    """2500 → '$25.00'; 123456 → '$1,234.56'; an unknown currency gets its code."""
    currency = (currency or settings.ORG_CURRENCY).lower()
    number = f"{amount // 100:,}.{amount % 100:02d}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"


def format_plain(amount: int) -> str:
    """2500 → '25', 2550 → '25.50': what goes back into the amount box."""
    whole, cents = divmod(amount, 100)
    return f"{whole}" if cents == 0 else f"{whole}.{cents:02d}"


def currency_symbol(currency: str | None = None) -> str:
    currency = (currency or settings.ORG_CURRENCY).lower()
    return _SYMBOLS.get(currency, "")

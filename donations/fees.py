"""Money arithmetic for the form: parsing what donors type, the card fee they may cover,
and how amounts are shown. Integers in minor units throughout, never floats.

static/js/donate.js repeats `cover_fee` and `format_amount` exactly; a test keeps them
in step.
"""

from django.conf import settings

from lib import money

AmountError = money.AmountError  # what the donor typed is not an amount of money


def parse_amount(text: str, currency: str | None = None) -> int:
    """'25', '$1,000.50', ' 7.5 ' → minor units of the currency (ORG_CURRENCY by default):
    '2500' is ¥2,500 in yen, not 250,000. Refuses anything else, including more decimals
    than the currency has, an ambiguous '25,00', exponents, NaN and infinities."""
    return money.parse_amount(text, currency or settings.ORG_CURRENCY)


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
    """2500 → '$25.00'; 123456 → '$1,234.56'; 2500 yen → '¥2,500' (lib.money)."""
    return money.format_money(amount, currency or settings.ORG_CURRENCY)


def format_plain(amount: int, currency: str | None = None) -> str:
    """2500 → '25', 2550 → '25.50': what goes back into the amount box."""
    return money.format_plain(amount, currency or settings.ORG_CURRENCY)


def currency_symbol(currency: str | None = None) -> str:
    return money.currency_symbol(currency or settings.ORG_CURRENCY)


def currency_digits(currency: str | None = None) -> int:
    """Decimals of the currency's minor unit, for the page's script (jpy 0, usd 2)."""
    return money.minor_digits(currency or settings.ORG_CURRENCY)

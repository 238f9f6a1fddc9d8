"""Money: one definition of each currency's minor units, one parser, one formatter.

Amounts are integers in the currency's minor unit, as Stripe takes them: 2500 is $25.00
but ¥2,500 (yen have no minor unit) and 2.500 BHD (three decimals). Every app reads
this module, so the form, the admin, receipts and exports print and parse money alike.
It imports nothing from the apps (the lowest layer).
"""

from decimal import Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_symbol, is_currency

# Stripe's own table, not CLDR's: Stripe decides how many minor units an amount sent to
# it has (https://docs.stripe.com/currencies#zero-decimal). ISK, HUF and TWD are printed
# without decimals by CLDR but Stripe still takes them in hundredths, so they stay at 2.
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])


def locale() -> str:
    """The organisation's locale (ORG_LOCALE): one for every surface, so the form, the
    admin and the receipts print money alike ("$" for CAD in en_CA, "CA$" in en_US)."""
    from django.conf import settings

    return getattr(settings, "ORG_LOCALE", "en_US")


class AmountError(ValueError):
    """The text is not an unambiguous amount of money in this currency."""


class UnknownCurrency(ValueError):
    """Not an ISO 4217 currency code."""


def check_currency(code: str) -> str:
    """'USD' → 'usd'; refuses what is not an ISO 4217 code (read at start-up)."""
    lowered = (code or "").strip().lower()
    if len(lowered) != 3 or not lowered.isascii() or not is_currency(lowered.upper()):
        raise UnknownCurrency(f"{code!r} is not an ISO 4217 currency code, like usd or eur.")
    return lowered


def check_locale(name: str) -> str:
    """'en_CA' → 'en_CA'; refuses a locale Babel does not know (read at start-up)."""
    try:
        Locale.parse(name)
    except (ValueError, TypeError, UnknownLocaleError):
        raise UnknownCurrency(f"{name!r} is not a locale, like en_US or en_CA.") from None
    return name


def minor_digits(currency: str) -> int:
    """How many decimals one minor unit stands for: jpy 0, usd 2, kwd 3."""
    lowered = currency.lower()
    if lowered in ZERO_DECIMAL:
        return 0
    if lowered in THREE_DECIMAL:
        return 3
    return 2


def to_decimal(amount: int, currency: str) -> Decimal:
    """2500, 'usd' → Decimal('25.00'); 2500, 'jpy' → Decimal('2500')."""
    return Decimal(amount).scaleb(-minor_digits(currency))


def to_minor(value: Decimal, currency: str) -> int:
    """Decimal('25.5'), 'usd' → 2550; refuses a value finer than the minor unit."""
    scaled = value.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value():
        raise AmountError(f"{value} has more decimals than {currency.upper()} allows.")
    return int(scaled)


def format_money(amount: int, currency: str) -> str:
    """2500, 'usd' → '$25.00'; 2500, 'jpy' → '¥2,500'; 2500, 'cad' → 'CA$25.00'."""
    digits = minor_digits(currency)
    pattern = "¤#,##0" + ("." + "0" * digits if digits else "")
    return format_currency(
        to_decimal(amount, currency),
        currency.upper(),
        format=pattern,
        locale=locale(),
        currency_digits=False,
    )


def format_plain(amount: int, currency: str) -> str:
    """2500 → '25', 2550 → '25.50' (usd); what goes back into an amount box."""
    value = to_decimal(amount, currency)
    if value == value.to_integral_value():
        return f"{int(value)}"
    return f"{value:.{minor_digits(currency)}f}"


def currency_symbol(currency: str) -> str:
    """'usd' → '$', 'cad' → 'CA$' (en_US; '$' in en_CA), 'chf' → 'CHF'."""
    return get_currency_symbol(currency.upper(), locale=locale())


def parse_amount(text: str, currency: str) -> int:
    """'25', '$1,000.50', ' 7.5 ' → minor units in `currency`.

    A comma is a thousands separator only where it groups three digits ('1,000'); '25,00'
    could mean 25 (a European decimal comma) or 2,500, so it is refused rather than
    guessed. Refuses more decimals than the currency has, exponents, NaN and infinities."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    cleaned = cleaned.removeprefix(currency_symbol(currency))
    cleaned = cleaned.removesuffix(currency.upper()).removesuffix(currency.lower())
    if not cleaned or len(cleaned) > 20 or not cleaned.isascii():
        raise AmountError(text)
    if not all(ch.isdigit() or ch in ".," for ch in cleaned) or cleaned.count(".") > 1:
        raise AmountError(text)
    whole, _dot, fraction = cleaned.partition(".")
    if "," in fraction:
        raise AmountError(text)
    if "," in whole:
        groups = whole.split(",")
        if not groups[0] or len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:]):
            raise AmountError(text)
        whole = "".join(groups)
    if not whole and not fraction:
        raise AmountError(text)
    try:
        value = Decimal(f"{whole or '0'}.{fraction or '0'}")
    except InvalidOperation:
        raise AmountError(text) from None
    return to_minor(value, currency)

"""Money as it is printed on receipts: integer minor units in, text out."""

SYMBOLS = {"usd": "$", "cad": "$", "aud": "$", "gbp": "£", "eur": "€"}


def format_money(amount: int, currency: str) -> str:
    """2500, "usd" → "$25.00"; an unknown currency prints its code instead of a symbol."""
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(amount), 100)
    number = f"{units:,}.{cents:02d}"
    symbol = SYMBOLS.get(currency.lower())
    if symbol is None:
        return f"{sign}{number} {currency.upper()}"
    return f"{sign}{symbol}{number}"

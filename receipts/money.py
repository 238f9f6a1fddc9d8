"""Money as it is printed on receipts: the project's one formatter (lib.money)."""

from lib.money import format_money

__all__ = ["format_money"]

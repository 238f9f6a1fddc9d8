"""Money as it is printed on receipts: the project's one formatter (config.money)."""

from config.money import format_money

__all__ = ["format_money"]

"""Stripe's documented test cards and what each one does.

Source: https://docs.stripe.com/testing (card numbers, `pm_card_*` ids and outcomes).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str = "visa"
    funding: str = "credit"
    country: str = "US"
    # When charged: None succeeds, otherwise (code, decline_code) of the card error.
    decline: tuple[str, str | None] | None = None
    # Refused already when the PaymentMethod is created (bad number).
    invalid: tuple[str, str] | None = None
    # 3-D Secure: "always" (every payment, 3184), "on_session" (until the card is set up
    # for off-session use, 3155), or None.
    three_d_secure: str | None = None
    # Attaching to a customer succeeds, charging fails (0341).
    fails_after_attach: bool = False
    # The charge succeeds and is then disputed as fraudulent (0259).
    disputed: bool = False

    @property
    def last4(self) -> str:
        return self.number[-4:]


CARDS: dict[str, TestCard] = {
    card.number: card
    for card in (
        TestCard("4242424242424242"),
        TestCard("4000056655665556", funding="debit"),
        TestCard("5555555555554444", brand="mastercard"),
        TestCard("2223003122003222", brand="mastercard"),
        TestCard("378282246310005", brand="amex"),
        TestCard("6011111111111117", brand="discover"),
        TestCard("4000000000000077"),
        TestCard("4000000000000002", decline=("card_declined", "generic_decline")),
        TestCard("4000000000009995", decline=("card_declined", "insufficient_funds")),
        TestCard("4000000000009987", decline=("card_declined", "lost_card")),
        TestCard("4000000000009979", decline=("card_declined", "stolen_card")),
        TestCard("4000000000000069", decline=("expired_card", None)),
        TestCard("4000000000000127", decline=("incorrect_cvc", None)),
        TestCard("4000000000000119", decline=("processing_error", None)),
        TestCard("4100000000000019", decline=("card_declined", "fraudulent")),
        TestCard(
            "4242424242424241", invalid=("incorrect_number", "Your card number is incorrect.")
        ),
        TestCard("4000002500003155", three_d_secure="on_session"),
        TestCard("4000002760003184", three_d_secure="always"),
        TestCard("4000000000003220", three_d_secure="on_session"),
        TestCard("4000000000000341", fails_after_attach=True),
        TestCard("4000000000000259", disputed=True),
    )
}

# `payment_method: "pm_card_visa"` makes a fresh PaymentMethod from the named card.
PAYMENT_METHOD_ALIASES: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_discover": "6011111111111117",
    "pm_card_bypassPending": "4000000000000077",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_visa_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_chargeDeclinedFraudulent": "4000000000000019",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_threeDSecure2Required": "4000000000003220",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_createDispute": "4000000000000259",
    "tok_visa": "4242424242424242",
    "tok_mastercard": "5555555555554444",
    "tok_chargeDeclined": "4000000000000002",
}

MESSAGES: dict[str, str] = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
    "fraudulent": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "incorrect_number": "Your card number is incorrect.",
    "authentication_required": "Your card was declined. This transaction requires authentication.",
}

# The parameter Stripe names for a card error that concerns one field.
ERROR_PARAMS: dict[str, str] = {"expired_card": "exp_month", "incorrect_cvc": "cvc"}


def lookup(number: str) -> TestCard:
    """Any other well-formed number behaves as a plain successful Visa (Luhn-checked)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if digits in CARDS:
        return CARDS[digits]
    if not 13 <= len(digits) <= 19 or not luhn_ok(digits):
        return TestCard(
            digits or "0000", invalid=("incorrect_number", MESSAGES["incorrect_number"])
        )
    brand = {"4": "visa", "5": "mastercard", "3": "amex", "6": "discover"}.get(digits[0], "unknown")
    return TestCard(digits, brand=brand)


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, ch in enumerate(reversed(digits)):
        value = int(ch)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def decline_message(code: str, decline_code: str | None) -> str:
    return MESSAGES.get(decline_code or code, MESSAGES["generic_decline"])

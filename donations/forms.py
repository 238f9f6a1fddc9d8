"""The donation form: validation only. It never calls Stripe; donations.checkout does.

The page's HTML is written by hand in templates/donations/donate.html (so it can be built
once and cached, see donations.page); this form is what the server believes.
"""

import re
import uuid
from dataclasses import dataclass, field

from django import forms
from django.conf import settings

from donations.fees import AmountError, cover_fee, format_amount, parse_amount
from donations.models import Donation
from lib import money
from lib.text import describe, unsafe_character
from members.models import Newsletter

FREQUENCIES = [value for value, _label in Donation.Frequency.choices]
OTHER = "other"
# Campaign and source codes come from links we publish; anything else is dropped silently
# (a bad tracking code must never stand between a reader and their gift).
_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,100}")


def clean_code(value: object) -> str:
    text = str(value or "").strip()
    return text if _CODE.fullmatch(text) else ""


@dataclass(frozen=True)
class GiftRequest:
    """A validated gift, ready for donations.checkout.start_gift."""

    frequency: str
    gift_amount: int  # what the donor chose, before any fee cover
    fee_covered: int
    email: str
    first_name: str
    last_name: str
    address: dict[str, str]
    newsletter_slugs: list[str] = field(default_factory=list)
    dedication_kind: str = ""
    dedication_name: str = ""
    source: str = ""
    campaign: str = ""
    donation_id: uuid.UUID | None = None

    @property
    def amount(self) -> int:
        """The total charged."""
        return self.gift_amount + self.fee_covered

    @property
    def currency(self) -> str:
        return settings.ORG_CURRENCY


def refuse_unsafe_text(value: str, *, multiline: bool = False) -> None:
    """A message next to the field for characters no receipt or email can print."""
    found = unsafe_character(value, multiline=multiline)
    if found is not None:
        raise forms.ValidationError(
            f"Remove the invisible character ({describe(found)}) from this field.",
            code="unsafe_character",
        )


def refuse_unsafe_multiline(value: str) -> None:
    refuse_unsafe_text(value, multiline=True)


def _text(label: str, *, max_length: int, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        validators=[refuse_unsafe_text],
        error_messages={
            "required": f"Enter your {label.lower()}.",
            "max_length": f"{label} can be at most {max_length} characters.",
        },
    )


class DonationForm(forms.Form):
    frequency = forms.ChoiceField(
        choices=Donation.Frequency.choices,
        error_messages={
            "required": "Choose how often to give.",
            "invalid_choice": "Choose one-time, monthly or annual.",
        },
    )
    # One preset group per frequency, so switching frequency never sends a stale choice.
    amount_one_time = forms.CharField(required=False, max_length=20)
    amount_monthly = forms.CharField(required=False, max_length=20)
    amount_annual = forms.CharField(required=False, max_length=20)
    custom_amount = forms.CharField(required=False, max_length=30)
    cover_fee = forms.BooleanField(required=False)
    first_name = _text("First name", max_length=100)
    last_name = _text("Last name", max_length=100)
    email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": "Enter your email address, so we can send your receipt.",
            "invalid": "Enter an email address like name@example.com.",
            "max_length": "That email address is too long.",
        },
    )
    address_line1 = _text("Street address", max_length=200)
    address_line2 = _text("Address line 2", max_length=200, required=False)
    city = _text("City", max_length=100)
    region = _text("State or province", max_length=100)
    postal_code = _text("Postal code", max_length=20)
    country = forms.CharField(
        max_length=2,
        required=False,
        error_messages={"max_length": "Use the two-letter country code, like US."},
    )
    newsletters = forms.MultipleChoiceField(required=False, choices=[])
    dedication_kind = forms.ChoiceField(
        required=False,
        choices=[("", "No dedication"), ("honour", "In honour of"), ("memory", "In memory of")],
        error_messages={"invalid_choice": "Choose in honour of or in memory of."},
    )
    dedication_name = _text("Name for the dedication", max_length=200, required=False)
    # The honeypot: hidden from people (and from screen readers), filled in by bots.
    website = forms.CharField(required=False)
    source = forms.CharField(required=False)
    campaign = forms.CharField(required=False)
    donation_id = forms.CharField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["newsletters"].choices = [
            (n.slug, n.name) for n in Newsletter.objects.filter(offered_on_form=True)
        ]
        self.fields["newsletters"].error_messages["invalid_choice"] = (
            "That newsletter is no longer offered; untick it and try again."
        )
        if not settings.DONATION_ADDRESS_REQUIRED:
            for name in ("address_line1", "city", "region", "postal_code"):
                self.fields[name].required = False

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper() or settings.DONATION_DEFAULT_COUNTRY
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise forms.ValidationError("Use the two-letter country code, like US.")
        return country

    def clean_donation_id(self) -> uuid.UUID | None:
        value = self.cleaned_data["donation_id"].strip()
        if not value:
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            return None  # a page's leftover id is a hint, never a reason to refuse

    def clean(self) -> dict:
        data = super().clean()
        if self.is_bot:
            raise forms.ValidationError("We could not accept this form.", code="honeypot")
        frequency = data.get("frequency")
        if frequency in FREQUENCIES:
            data["gift_amount"] = self._gift_amount(frequency)
        if data.get("dedication_kind") and not data.get("dedication_name", "").strip():
            self.add_error("dedication_name", "Enter the name of the person the gift honours.")
        if data.get("dedication_name", "").strip() and not data.get("dedication_kind"):
            self.add_error("dedication_kind", "Choose in honour of or in memory of.")
        return data

    def _gift_amount(self, frequency: str) -> int | None:
        custom = self.cleaned_data.get("custom_amount", "").strip()
        chosen = self.cleaned_data.get(f"amount_{frequency}", "").strip()
        if custom:
            try:
                amount = parse_amount(custom)
            except AmountError:
                self.add_error("custom_amount", "Enter an amount in numbers, like 25 or 25.50.")
                return None
        elif chosen and chosen != OTHER:
            if not chosen.isascii() or not chosen.isdigit():
                self.add_error("custom_amount", "Choose an amount or enter your own.")
                return None
            amount = int(chosen)
        else:
            self.add_error("custom_amount", "Choose an amount or enter your own.")
            return None
        low, high = settings.DONATION_MIN_AMOUNT, settings.DONATION_MAX_AMOUNT
        if amount < low:
            self.add_error(
                "custom_amount", f"The smallest gift we can accept is {format_amount(low)}."
            )
            return None
        if amount > high:
            self.add_error(
                "custom_amount",
                f"Gifts above {format_amount(high)} are welcome by arrangement: "
                f"please write to {settings.ORG_EMAIL}.",
            )
            return None
        return amount

    def gift(self) -> GiftRequest:
        """The validated gift (call only after is_valid())."""
        data = self.cleaned_data
        gift_amount = data["gift_amount"]
        return GiftRequest(
            frequency=data["frequency"],
            gift_amount=gift_amount,
            fee_covered=cover_fee(gift_amount) if data["cover_fee"] else 0,
            email=data["email"],
            first_name=data["first_name"].strip(),
            last_name=data["last_name"].strip(),
            address={
                "address_line1": data["address_line1"].strip(),
                "address_line2": data["address_line2"].strip(),
                "city": data["city"].strip(),
                "region": data["region"].strip(),
                "postal_code": data["postal_code"].strip(),
                "country": data["country"],
            },
            newsletter_slugs=list(data["newsletters"]),
            dedication_kind=data["dedication_kind"],
            dedication_name=data["dedication_name"].strip() if data["dedication_kind"] else "",
            source=clean_code(data["source"]),
            campaign=clean_code(data["campaign"]),
            donation_id=data["donation_id"],
        )


class RecurringAmountForm(forms.Form):
    """A new amount for a recurring gift, as staff (admin) and donors (account) enter it,
    in the gift's currency and within the same bounds as the donation form."""

    amount = forms.CharField(
        max_length=30,
        label="New amount",
        error_messages={"required": "Enter the new amount."},
    )
    reason = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[refuse_unsafe_multiline],
    )

    def __init__(self, *args, currency: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency or settings.ORG_CURRENCY

    def clean_amount(self) -> int:
        try:
            amount = money.parse_amount(self.cleaned_data["amount"], self.currency)
        except money.AmountError:
            example = money.format_plain(
                2550 if money.minor_digits(self.currency) else 25, self.currency
            )
            raise forms.ValidationError(f"Enter an amount in numbers, like {example}.") from None
        low, high = settings.DONATION_MIN_AMOUNT, settings.DONATION_MAX_AMOUNT
        if amount < low:
            raise forms.ValidationError(
                f"The smallest amount is {money.format_money(low, self.currency)}."
            )
        if amount > high:
            raise forms.ValidationError(
                f"Amounts above {money.format_money(high, self.currency)} are welcome by "
                f"arrangement: please write to {settings.ORG_EMAIL}."
            )
        return amount

    @property
    def amount_minor(self) -> int:
        return self.cleaned_data["amount"]

"""What a receipt must say, by the organisation's jurisdiction (settings.ORG_JURISDICTION).

Each rule set answers two questions about a gift (or a donor's year): may a receipt be
issued, and if so which fields must be present and which words are printed. Its answer
goes into the receipt's frozen snapshot, so the PDF never consults these rules again:
changing the wording here changes future receipts, never past ones.

Sources:
- US: IRS Publication 1771 (written acknowledgment; quid pro quo disclosure, IRC §6115).
- Canada: CRA, "What is an official donation receipt" (required fields; the advantage
  may not exceed 80% of the gift, or there is no gift and no receipt).
- UK: HMRC Gift Aid: a record of whether a declaration covers the gift, and the donor's
  name and home address when it does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings

from receipts.money import format_money

CRA_WEB_ADDRESS = "canada.ca/charities-giving"


@dataclass(frozen=True)
class GiftFacts:
    """Everything a rule set needs about one gift, gathered from the database."""

    amount: int  # what the donor gave and kept given (net of refunds), minor units
    currency: str
    received_on: dt.date  # in the organisation's time zone
    donor_name: str
    donor_address_lines: list[str]
    donor_postal_code: str
    benefit_value: int = 0
    benefit_description: str = ""
    gift_aid_declared_on: dt.date | None = None  # UK: the covering declaration's date


@dataclass
class Decision:
    receiptable: bool = True
    refusal: str = ""  # why no receipt may be issued at all
    missing: list[str] = field(default_factory=list)  # required fields that are empty
    fields: dict = field(default_factory=dict)  # what the rule set adds to the snapshot

    @property
    def ok(self) -> bool:
        return self.receiptable and not self.missing


def organisation() -> dict:
    return {
        "name": settings.ORG_NAME,
        "address": settings.ORG_ADDRESS,
        "tax_id": settings.ORG_TAX_ID,
        "email": settings.ORG_EMAIL,
    }


def _missing_common(facts: GiftFacts) -> list[str]:
    org = organisation()
    checks = {
        "organisation name": org["name"],
        "organisation tax id": org["tax_id"],
        "donor name": facts.donor_name,
        "amount": facts.amount > 0,
    }
    return [name for name, value in checks.items() if not value]


def quid_pro_quo_threshold(year: int) -> int:
    """The US threshold (minor units) in force in `year`: the newest one from before it."""
    thresholds = settings.RECEIPT_US_QUID_PRO_QUO_THRESHOLDS
    applicable = [since for since in thresholds if since <= year]
    return thresholds[max(applicable)] if applicable else thresholds[min(thresholds)]


class UnitedStates:
    code = "US"
    title = "Contribution receipt"

    def decide(self, facts: GiftFacts) -> Decision:
        missing = _missing_common(facts)
        if facts.benefit_value and not facts.benefit_description:
            missing.append("description of goods or services provided")
        deductible = max(facts.amount - facts.benefit_value, 0)
        money = lambda cents: format_money(cents, facts.currency)  # noqa: E731
        org = organisation()
        statements = [
            f"{org['name']} is {settings.RECEIPT_US_EXEMPTION_WORDING}. "
            f"Federal tax identification number: {org['tax_id']}.",
            f"We acknowledge with thanks your cash contribution of {money(facts.amount)}, "
            f"received on {facts.received_on:%B %-d, %Y}.",
        ]
        if facts.benefit_value:
            statements.append(
                f"In return for this contribution you received {facts.benefit_description}, "
                f"whose value we estimate in good faith at {money(facts.benefit_value)}."
            )
            if facts.amount > quid_pro_quo_threshold(facts.received_on.year):
                # IRC §6115: a payment over the threshold that is partly a contribution
                # and partly for goods or services needs this disclosure statement.
                statements.append(
                    "The amount of your contribution that is deductible for federal income tax "
                    "purposes is limited to the excess of the money you contributed over the "
                    "value of the goods or services we provided: "
                    f"{money(deductible)}."
                )
            else:
                statements.append(
                    f"The deductible amount of your contribution is {money(deductible)}."
                )
        else:
            statements.append("No goods or services were provided in return for this contribution.")
        statements.append("Please keep this receipt for your tax records.")
        return Decision(
            missing=missing,
            fields={"deductible_amount": deductible, "statements": statements},
        )


class Canada:
    code = "CA"
    title = "Official receipt for income tax purposes"

    def decide(self, facts: GiftFacts) -> Decision:
        limit = settings.RECEIPT_CA_ADVANTAGE_LIMIT_PERCENT
        if facts.amount and facts.benefit_value * 100 > facts.amount * limit:
            # CRA: an advantage over 80% of the property transferred means there was no
            # gift, so no official receipt may be issued.
            return Decision(
                receiptable=False,
                refusal=f"the advantage ({format_money(facts.benefit_value, facts.currency)}) "
                f"exceeds {limit}% of the gift ({format_money(facts.amount, facts.currency)})",
            )
        missing = _missing_common(facts)
        if not settings.ORG_ADDRESS:
            missing.append("organisation address")
        if not facts.donor_address_lines:
            missing.append("donor address")
        if facts.benefit_value and not facts.benefit_description:
            missing.append("description of the advantage")
        place = settings.RECEIPT_CA_PLACE_OF_ISSUE
        if not place:
            missing.append("place of issue (RECEIPT_CA_PLACE_OF_ISSUE)")
        if not settings.RECEIPT_SIGNATORY:
            missing.append("authorized signatory (RECEIPT_SIGNATORY)")
        eligible = max(facts.amount - facts.benefit_value, 0)
        money = lambda cents: format_money(cents, facts.currency)  # noqa: E731
        statements = [
            "Official receipt for income tax purposes.",
            f"Charity registration number: {settings.ORG_TAX_ID}.",
            f"Total amount of gift: {money(facts.amount)}. "
            f"Value of advantage: {money(facts.benefit_value)}"
            + (f" ({facts.benefit_description})" if facts.benefit_value else "")
            + f". Eligible amount of gift for tax purposes: {money(eligible)}.",
            f"Canada Revenue Agency: {CRA_WEB_ADDRESS}",
        ]
        return Decision(
            missing=missing,
            fields={
                "deductible_amount": eligible,
                "eligible_amount": eligible,
                "advantage": facts.benefit_value,
                "place_of_issue": place,
                "signatory": settings.RECEIPT_SIGNATORY,
                "cra_web_address": CRA_WEB_ADDRESS,
                "statements": statements,
            },
        )


class UnitedKingdom:
    code = "UK"
    title = "Donation receipt and Gift Aid record"

    def decide(self, facts: GiftFacts) -> Decision:
        missing = _missing_common(facts)
        covered = facts.gift_aid_declared_on is not None
        if covered and not (facts.donor_address_lines and facts.donor_postal_code):
            # HMRC needs the donor's home address and postcode to accept a claim.
            missing.append("donor home address and postcode (Gift Aid)")
        money = format_money(facts.amount, facts.currency)
        statements = [
            f"Thank you for your donation of {money}, received on {facts.received_on:%-d %B %Y}.",
            f"Registered charity number: {settings.ORG_TAX_ID}.",
        ]
        if covered:
            statements.append(
                "Gift Aid: this gift is covered by your Gift Aid declaration of "
                f"{facts.gift_aid_declared_on:%-d %B %Y}. We will reclaim basic-rate tax on it "
                "from HMRC. If you pay less Income Tax and/or Capital Gains Tax than the Gift Aid "
                "claimed on all your donations in that tax year, it is your responsibility to "
                "pay any difference."
            )
        else:
            statements.append("Gift Aid: no Gift Aid declaration covers this gift.")
        if facts.benefit_value:
            statements.append(
                f"You received {facts.benefit_description}, valued at "
                f"{format_money(facts.benefit_value, facts.currency)}."
            )
        return Decision(
            missing=missing,
            fields={
                "deductible_amount": max(facts.amount - facts.benefit_value, 0),
                "gift_aid": {
                    "covered": covered,
                    "declared_on": facts.gift_aid_declared_on.isoformat() if covered else None,
                },
                "statements": statements,
            },
        )


RULE_SETS = {"US": UnitedStates(), "CA": Canada(), "UK": UnitedKingdom()}


def rule_set(code: str | None = None) -> UnitedStates | Canada | UnitedKingdom:
    return RULE_SETS[code or settings.ORG_JURISDICTION]


def statement_wording(
    *, jurisdiction: str, total: int, benefits: int, currency: str, year: int
) -> list[str]:
    """The words on a year-end statement, which sums gifts that had their own receipts."""
    money = lambda cents: format_money(cents, currency)  # noqa: E731
    org = organisation()
    if jurisdiction == "CA":
        return [
            f"Your gifts to {org['name']} in {year} total {money(total)}.",
            "This statement is a summary for your records. It is not an official receipt for "
            "income tax purposes: the official receipts are the ones numbered beside each gift.",
            f"Charity registration number: {org['tax_id']}. Canada Revenue Agency: {CRA_WEB_ADDRESS}",
        ]
    if jurisdiction == "UK":
        return [
            f"Your donations to {org['name']} in {year} total {money(total)}.",
            f"Registered charity number: {org['tax_id']}. The Gift Aid column shows whether a "
            "declaration covers each gift.",
        ]
    words = [
        f"{org['name']} is {settings.RECEIPT_US_EXEMPTION_WORDING}. "
        f"Federal tax identification number: {org['tax_id']}.",
        f"We acknowledge with thanks your cash contributions in {year}, totalling {money(total)}.",
    ]
    if benefits:
        words.append(
            f"Goods or services provided in return, valued in good faith at {money(benefits)}, are "
            "shown beside each gift; the amount deductible for federal income tax purposes is "
            f"limited to {money(max(total - benefits, 0))}."
        )
    else:
        words.append("No goods or services were provided in return for these contributions.")
    return words

"""Each jurisdiction's required wording, read back from the PDF's text."""

import datetime as dt

import pytest

from donations.models import Donation
from members.models import Membership
from receipts import services
from receipts.delivery import pdf_bytes
from receipts.models import GiftAidDeclaration, Receipt, ReceiptProblem
from receipts.rules import quid_pro_quo_threshold
from tests.factories import RecurringDonationFactory, TierFactory
from tests.receipts.conftest import RECEIVED, make_gift, pdf_text, receipt_number
from tests.receipts.pdf_reading import fonts_drawing, pdf_fonts

pytestmark = pytest.mark.django_db


def member(supporter, *, benefit_value=6000, description="a tote bag and event tickets"):
    tier = TierFactory(
        benefit_value=benefit_value, benefit_description=description, yearly_amount=12000
    )
    Membership.objects.create(
        supporter=supporter, tier=tier, starts_at=RECEIVED - dt.timedelta(days=30)
    )
    return tier


def issued_text(donation) -> tuple[Receipt, str]:
    receipt = services.issue_gift_receipt(donation_id=donation.pk)
    return receipt, pdf_text(pdf_bytes(receipt))


# --- United States (IRS Publication 1771) ----------------------------------------------


def test_us_receipt_says_no_goods_or_services_when_none_were_given(gift):
    receipt, text = issued_text(gift)

    assert "Springfield Free Press" in text
    assert "12-3456789" in text
    assert "cash contribution of $25.00" in text
    assert "March 12, 2026" in text
    assert "No goods or services were provided in return for this contribution." in text
    assert "Dana Donor" in text and receipt_number(1) in text


def test_us_gift_over_75_dollars_that_bought_a_benefit_carries_the_quid_pro_quo_disclosure(donor):
    member(donor, benefit_value=6000)
    donation = make_gift(donor, 15000)  # reaches the tier's yearly amount: it buys the benefits

    receipt, text = issued_text(donation)

    assert receipt.benefit_value == 6000 and receipt.deductible_amount == 9000
    assert "No goods or services" not in text
    assert "you received a tote bag and event tickets" in text
    assert "estimate in good faith at $60.00" in text
    assert "deductible for federal income tax purposes is limited to the excess" in text
    assert "$90.00" in text


def test_us_gift_of_75_dollars_or_less_describes_the_benefit_without_the_disclosure(donor):
    member(donor, benefit_value=1200)
    # The benefit comes from the tier this payment buys: a payment of a monthly gift.
    recurring = RecurringDonationFactory(supporter=donor, amount=7500)
    monthly = make_gift(donor, 7500, frequency=Donation.Frequency.MONTHLY, recurring=recurring)

    receipt, text = issued_text(monthly)

    assert receipt.benefit_value == 100  # a twelfth of the year's benefits
    assert "estimate in good faith at $1.00" in text
    assert "limited to the excess" not in text
    assert "The deductible amount of your contribution is $74.00." in text


def test_us_threshold_applies_from_the_year_configured(settings):
    settings.RECEIPT_US_QUID_PRO_QUO_THRESHOLDS = {1994: 7500, 2027: 10000}

    assert quid_pro_quo_threshold(2026) == 7500
    assert quid_pro_quo_threshold(2027) == 10000
    assert quid_pro_quo_threshold(2040) == 10000


def test_us_extra_one_time_gift_from_a_member_bought_nothing(donor):
    member(donor)
    receipt, text = issued_text(make_gift(donor, 5000))

    assert receipt.benefit_value == 0
    assert "No goods or services were provided" in text


def test_us_benefit_without_a_description_is_not_issued(donor):
    member(donor, description="")
    donation = make_gift(donor, 15000)

    assert services.issue_gift_receipt(donation_id=donation.pk) is None
    assert ReceiptProblem.objects.get().missing_fields == [
        "description of goods or services provided"
    ]


# --- Canada (CRA official donation receipt) ----------------------------------------------


def test_canadian_official_receipt_carries_every_cra_field(canada, gift):
    receipt, text = issued_text(gift)

    assert "Official receipt for income tax purposes" in text
    assert "Toronto Free Press" in text and "10 King St W, Toronto ON M5H 1A1" in text
    assert "123456789RR0001" in text  # registration number
    assert receipt.number in text  # serial number
    assert "Toronto, Ontario" in text  # place of issue
    assert "12 March 2026" in text  # date received; the issue date is printed too
    assert "Dana Donor" in text and "12 Elm Street" in text  # full name and address
    assert "Total amount of gift: $25.00" in text
    assert "Value of advantage: $0.00" in text
    assert "Eligible amount of gift for tax purposes: $25.00" in text
    assert "Authorized signature: Jane Treasurer" in text
    assert "canada.ca/charities-giving" in text


def test_canada_prints_the_advantage_and_eligible_amount(canada, donor):
    member(donor, benefit_value=3000, description="two gala tickets")
    receipt, text = issued_text(make_gift(donor, 15000))

    assert "Value of advantage: $30.00 (two gala tickets)" in text
    assert "Eligible amount of gift for tax purposes: $120.00" in text
    assert receipt.deductible_amount == 12000


def test_canada_issues_no_receipt_when_the_advantage_exceeds_80_percent(canada, donor):
    member(donor, benefit_value=13000, description="a weekend retreat")
    donation = make_gift(donor, 15000)

    assert services.issue_gift_receipt(donation_id=donation.pk) is None
    problem = ReceiptProblem.objects.get()
    assert problem.code == ReceiptProblem.Code.NOT_RECEIPTABLE
    assert "exceeds 80%" in problem.message


def test_canada_needs_the_donors_address(canada, donor):
    donor.address_line1 = donor.city = donor.region = donor.postal_code = donor.country = ""
    donor.save()

    assert services.issue_gift_receipt(donation_id=make_gift(donor).pk) is None
    assert ReceiptProblem.objects.get().missing_fields == ["donor address"]


def test_canada_needs_a_place_of_issue_and_a_signatory(canada, settings, gift):
    settings.RECEIPT_CA_PLACE_OF_ISSUE = ""
    settings.RECEIPT_SIGNATORY = ""

    assert services.issue_gift_receipt(donation_id=gift.pk) is None
    assert ReceiptProblem.objects.get().missing_fields == [
        "place of issue (RECEIPT_CA_PLACE_OF_ISSUE)",
        "authorized signatory (RECEIPT_SIGNATORY)",
    ]


# --- United Kingdom (Gift Aid record) ----------------------------------------------------


def test_uk_receipt_records_that_a_gift_aid_declaration_covers_the_gift(united_kingdom, donor):
    donor.currency = "gbp"
    GiftAidDeclaration.objects.create(
        supporter=donor,
        made_at=dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC),
        covers_from=dt.date(2022, 2, 1),
    )
    receipt, text = issued_text(make_gift(donor, 2000, currency="gbp"))

    assert receipt.snapshot["rules"]["gift_aid"] == {"covered": True, "declared_on": "2026-02-01"}
    assert "£20.00" in text
    assert "covered by your Gift Aid declaration of 1 February 2026" in text
    assert "Registered charity number: 1234567" in text


def test_uk_receipt_says_when_no_declaration_covers_the_gift(united_kingdom, donor):
    GiftAidDeclaration.objects.create(
        supporter=donor,
        covers_from=dt.date(2020, 1, 1),
        cancelled_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),  # cancelled before the gift
    )
    receipt, text = issued_text(make_gift(donor, 2000, currency="gbp"))

    assert receipt.snapshot["rules"]["gift_aid"]["covered"] is False
    assert "no Gift Aid declaration covers this gift" in text


def test_uk_gift_aid_needs_the_donors_home_address_and_postcode(united_kingdom, donor):
    donor.postal_code = ""
    donor.save()
    GiftAidDeclaration.objects.create(supporter=donor, covers_from=dt.date(2020, 1, 1))

    assert services.issue_gift_receipt(donation_id=make_gift(donor, currency="gbp").pk) is None
    assert ReceiptProblem.objects.get().missing_fields == [
        "donor home address and postcode (Gift Aid)"
    ]


# --- Fonts and rendering -----------------------------------------------------------------


def test_any_donors_name_prints_with_the_embedded_font(donor):
    donor.first_name, donor.last_name = "Zoë Ñandú", "Łukasiewicz-Σοφία Жуковская 王"
    donor.save()
    receipt, text = issued_text(make_gift(donor))

    assert "Zoë Ñandú Łukasiewicz-Σοφία Жуковская 王" in text


def test_the_pdf_embeds_the_projects_own_fonts(gift):
    receipt = services.issue_gift_receipt(donation_id=gift.pk)

    fonts = pdf_fonts(pdf_bytes(receipt))
    assert fonts
    for font in fonts:
        # Our @font-face families, embedded (subset): never a font the machine substituted.
        assert font.family.startswith("Receipt-") and font.subset and font.embedded, fonts


def test_a_chinese_name_is_drawn_with_the_embedded_fallback_font(donor):
    # The text reads back even when its glyphs printed as empty boxes (the ToUnicode map
    # still names them), so the proof is the font: DejaVu has no CJK, the fallback must be
    # embedded and must be the font that drew the name.
    donor.first_name, donor.last_name = "王", "小明"
    donor.save()
    receipt = services.issue_gift_receipt(donation_id=make_gift(donor).pk)

    drawn = fonts_drawing(pdf_bytes(receipt), "王小明")
    for character, fonts in drawn.items():
        assert fonts and all(font.family == "Receipt-CJK" and font.embedded for font in fonts), (
            character,
            fonts,
        )


def test_re_rendering_an_old_receipt_gives_the_same_words(settings, gift):
    receipt = services.issue_gift_receipt(donation_id=gift.pk)
    before = pdf_text(pdf_bytes(receipt))

    settings.ORG_NAME = "A Renamed Newsroom"
    settings.RECEIPT_US_EXEMPTION_WORDING = "something else entirely"

    assert pdf_text(pdf_bytes(Receipt.objects.get(pk=receipt.pk))) == before

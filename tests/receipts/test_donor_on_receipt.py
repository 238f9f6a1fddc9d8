"""Whom a receipt names: the name and address typed with the gift, frozen in its snapshot;
the supporter's profile only for gifts from before gifts kept their own."""

import pytest

from receipts import services
from tests.factories import RecurringDonationFactory
from tests.receipts.conftest import make_gift

pytestmark = pytest.mark.django_db(transaction=True)

TYPED = {
    "donor_first_name": "Sam",
    "donor_last_name": "Giver",
    "donor_address_line1": "9 Oak Lane",
    "donor_city": "Shelbyville",
    "donor_region": "IL",
    "donor_postal_code": "62565",
    "donor_country": "US",
}


def test_the_receipt_prints_the_name_and_address_typed_with_the_gift(donor):
    gift = make_gift(donor, **TYPED)
    donor_block = services.issue_gift_receipt(donation_id=gift.pk).snapshot["donor"]
    assert donor_block == {
        "name": "Sam Giver",
        "address_lines": ["9 Oak Lane", "Shelbyville IL 62565", "US"],
        "postal_code": "62565",
    }


def test_a_gift_from_before_typed_details_prints_the_supporters_profile(donor):
    gift = make_gift(donor)
    donor_block = services.issue_gift_receipt(donation_id=gift.pk).snapshot["donor"]
    assert donor_block["name"] == "Dana Donor"
    assert donor_block["address_lines"][0] == donor.address_line1


def test_a_gift_typed_without_an_address_keeps_the_profiles_address(donor):
    gift = make_gift(donor, donor_first_name="Sam", donor_last_name="Giver")
    donor_block = services.issue_gift_receipt(donation_id=gift.pk).snapshot["donor"]
    assert donor_block["name"] == "Sam Giver"
    assert donor_block["address_lines"][0] == donor.address_line1


def test_a_renewal_prints_what_was_typed_when_the_recurring_gift_began(donor):
    recurring = RecurringDonationFactory(supporter=donor)
    make_gift(donor, recurring=recurring, frequency="monthly", **TYPED)
    renewal = make_gift(donor, recurring=recurring, frequency="monthly")
    donor_block = services.issue_gift_receipt(donation_id=renewal.pk).snapshot["donor"]
    assert donor_block["name"] == "Sam Giver"
    assert donor_block["address_lines"][0] == "9 Oak Lane"

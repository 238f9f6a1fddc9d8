"""A supporter's profile changes only by staff or in their account, and each change is
recorded with who made it and what it was before."""

import pytest
from django.urls import reverse

from members.models import ProfileChange, Supporter
from members.services import supporter_update_profile

pytestmark = pytest.mark.django_db


def admin_form(supporter: Supporter, **changes) -> dict:
    data = {
        name: getattr(supporter, name)
        for name in ["email", "first_name", "last_name", "address_line1", "address_line2",
                     "city", "region", "postal_code", "country"]
    }  # fmt: skip
    data.update(changes)
    for prefix in ("subscriptions", "profile_changes"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data


def test_a_staff_edit_of_the_address_is_audited_with_before_and_after(client, admin_user, donor):
    client.force_login(admin_user)
    url = reverse("admin:members_supporter_change", args=[donor.pk])
    response = client.post(url, admin_form(donor, city="Capital City"))
    assert response.status_code == 302, response.content[:2000]
    assert Supporter.objects.get().city == "Capital City"
    change = ProfileChange.objects.get()
    assert (change.source, change.actor) == ("staff", admin_user)
    assert change.before == {"city": donor.city} and change.after == {"city": "Capital City"}


def test_saving_without_changes_records_nothing(client, admin_user, donor):
    client.force_login(admin_user)
    url = reverse("admin:members_supporter_change", args=[donor.pk])
    assert client.post(url, admin_form(donor)).status_code == 302
    assert not ProfileChange.objects.exists()


def test_the_service_refuses_fields_that_are_not_the_profile(donor):
    with pytest.raises(ValueError):
        supporter_update_profile(
            supporter=donor, changes={"stripe_customer_id": "cus_x"}, source="account"
        )

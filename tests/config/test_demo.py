"""The demo content loads, and loads again without duplicating anything."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from members.models import Newsletter, Tier


@pytest.mark.django_db
def test_load_demo_prints_a_working_staff_password(capsys):
    call_command("load_demo")
    password = capsys.readouterr().out.split("password '")[1].split("'")[0]
    user = authenticate(username="staff", password=password)
    assert user is not None and user.is_staff
    assert user.has_perm("receipts.export_receipts")


@pytest.mark.django_db
def test_load_demo_twice_duplicates_nothing(capsys):
    call_command("load_demo")
    call_command("load_demo")
    assert Newsletter.objects.count() == 3
    assert Tier.objects.count() == 3
    assert Newsletter.objects.filter(offered_on_form=True).count() == 2


@pytest.mark.django_db
def test_load_demo_offers_presets_with_one_suggested_per_frequency(capsys):
    from donations.models import DonationPreset

    call_command("load_demo")
    for frequency in ("one_time", "monthly", "annual"):
        presets = DonationPreset.objects.filter(frequency=frequency)
        assert presets.count() == 4
        assert presets.filter(suggested=True).count() == 1

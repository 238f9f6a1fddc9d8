"""Loads the demo's content: newsletters, membership tiers, preset amounts and a staff
user whose fresh password is printed. Safe to run again: it updates rather than duplicates."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from donations.models import DonationPreset
from members.models import Newsletter, Tier

NEWSLETTERS = [
    ("the-morning", "The Morning", "Our best journalism, every weekday at 7am."),
    ("city-hall", "City Hall Watch", "What your council decided this week."),
    ("members", "Members' letter", "A monthly note from the editor to supporters."),
]
TIERS = [
    # name, monthly, yearly (minor units), benefit, fair market value a year
    ("Reader", 500, 6000, "", 0),
    ("Member", 1500, 18000, "Members' letter and a tote bag", 1500),
    ("Patron", 5000, 60000, "Two tickets to the annual event", 8000),
]
PRESETS = {  # frequency -> (amounts in minor units, the suggested one)
    "one_time": ([2500, 5000, 10000, 25000], 5000),
    "monthly": ([500, 1000, 1500, 2500], 1500),
    "annual": ([6000, 12000, 18000, 50000], 12000),
}


class Command(BaseCommand):
    help = "Load demo newsletters, tiers, preset amounts and a staff user (prints its password)."

    @transaction.atomic
    def handle(self, *args, **options):
        for position, (slug, name, description) in enumerate(NEWSLETTERS):
            Newsletter.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "description": description,
                    "offered_on_form": slug != "members",
                    "position": position,
                },
            )
        for name, monthly, yearly, benefit, value in TIERS:
            tier, _ = Tier.objects.update_or_create(
                name=name,
                defaults={
                    "monthly_amount": monthly,
                    "yearly_amount": yearly,
                    "benefit_description": benefit,
                    "benefit_value": value,
                },
            )
            if value:
                tier.newsletters.add(Newsletter.objects.get(slug="members"))
        self._load_presets()

        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(
            username="staff", defaults={"email": "staff@example.org"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        finance, _ = Group.objects.get_or_create(name="Finance")
        finance.permissions.add(*Permission.objects.filter(codename="export_receipts"))
        user.groups.add(finance)
        self.stdout.write(f"Staff sign-in: username 'staff', password '{password}'")

    def _load_presets(self) -> None:
        for frequency, (amounts, suggested) in PRESETS.items():
            for position, amount in enumerate(amounts):
                DonationPreset.objects.update_or_create(
                    frequency=frequency,
                    amount=amount,
                    defaults={"suggested": amount == suggested, "position": position},
                )

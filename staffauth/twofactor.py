"""Who must pass a second factor, and the session's note that they did."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from staffauth.models import StaffTOTP

SESSION_KEY = "staffauth_verified_user"


def device(user: AbstractBaseUser) -> StaffTOTP | None:
    return StaffTOTP.objects.filter(user=user).first()


def required(user: AbstractBaseUser) -> bool:
    """A member of a group named in STAFF_2FA_REQUIRED_GROUPS cannot work without one."""
    groups = settings.STAFF_2FA_REQUIRED_GROUPS
    return bool(groups) and user.groups.filter(name__in=groups).exists()


def is_verified(request: HttpRequest) -> bool:
    return request.session.get(SESSION_KEY) == request.user.pk


def mark_verified(request: HttpRequest) -> None:
    request.session.cycle_key()  # a new session id for the stronger sign-in
    request.session[SESSION_KEY] = request.user.pk


def next_step(request: HttpRequest) -> str | None:
    """ "verify", "setup" or None: what a staff member must do before a staff page."""
    if is_verified(request):
        return None
    current = device(request.user)
    if current is not None and current.confirmed_at is not None:
        return "verify"
    if required(request.user):
        return "setup"
    return None

"""The second step of a staff sign-in: set up an authenticator, and give its code."""

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from donations.ratelimit import bump
from staffauth import throttle, totp, twofactor
from staffauth.forms import CodeForm
from staffauth.models import StaffTOTP

CODE_FAILURES_ALLOWED = 5


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("admin:index")


def _code_failures_key(request: HttpRequest) -> str:
    return throttle.limit_key("totp", str(request.user.pk))


def _codes_locked(request: HttpRequest) -> bool:
    """Five wrong codes per account per lockout window: a million codes, three valid at a
    time, must not be guessable by trying."""
    count = cache.get(_code_failures_key(request))
    return isinstance(count, int) and count >= CODE_FAILURES_ALLOWED


def _count_code_failure(request: HttpRequest) -> None:
    bump(_code_failures_key(request), window_seconds=settings.STAFF_LOGIN_LOCKOUT_SECONDS)


def _checked(request: HttpRequest, device: StaffTOTP) -> CodeForm | None:
    """The posted code's form with its errors, or None when the code was right and is
    now used (recorded by one compare-and-set, so a code works once)."""
    locked = _codes_locked(request)
    form = CodeForm(
        request.POST, secret=device.secret, last_step=device.last_used_step, locked=locked
    )
    if form.is_valid() and device.use_step(form.step):
        return None
    if not form.errors:
        form.add_error("code", "That code was already used. Wait for the next one.")
    if not locked:
        _count_code_failure(request)
    return form
    if form.is_valid() and device.use_step(form.step):
        return None
    if not form.errors:
        form.add_error("code", "That code was already used. Wait for the next one.")
    _count_code_failure(request)
    return form


@never_cache
@staff_member_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    device = twofactor.device(request.user)
    if device is None or device.confirmed_at is None:
        return redirect("staffauth:setup")
    form = CodeForm(secret=device.secret, last_step=device.last_used_step)
    if request.method == "POST":
        form = _checked(request, device)
        if form is None:
            twofactor.mark_verified(request)
            throttle.log.info("staff two-factor passed: %s", request.user.get_username())
            return redirect(_next_url(request))
    return render(request, "staffauth/verify.html", {"form": form, "next": _next_url(request)})


@never_cache
@staff_member_required
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    device = twofactor.device(request.user)
    if device is not None and device.confirmed_at is not None:
        # Changing a confirmed authenticator needs this session to have passed it.
        if not twofactor.is_verified(request):
            return redirect("staffauth:verify")
        return render(request, "staffauth/setup_done.html", {"next": _next_url(request)})
    if device is None:
        device = StaffTOTP.objects.create(user=request.user, secret=totp.new_secret())
    form = CodeForm(secret=device.secret, last_step=device.last_used_step)
    if request.method == "POST":
        form = _checked(request, device)
        if form is None:
            StaffTOTP.objects.filter(pk=device.pk).update(confirmed_at=timezone.now())
            twofactor.mark_verified(request)
            throttle.log.info("staff two-factor set up: %s", request.user.get_username())
            messages.success(request, "Two-factor sign-in is on for your account.")
            return redirect(_next_url(request))
    context = {
        "form": form,
        "secret": " ".join(device.secret[i : i + 4] for i in range(0, len(device.secret), 4)),
        "uri": totp.provisioning_uri(
            device.secret, account=request.user.get_username(), issuer=settings.ORG_NAME
        ),
        "required": twofactor.required(request.user),
        "next": _next_url(request),
    }
    return render(request, "staffauth/setup.html", context)

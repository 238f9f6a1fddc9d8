from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from staffauth import twofactor


class StaffTwoFactorMiddleware:
    """Staff pages (the admin and the finance exports) ask a signed-in staff member for
    their authenticator's code once a session, when they have one confirmed, and send
    members of the required groups to set one up first. Other pages are untouched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff and self._guarded(request):
            step = twofactor.next_step(request)
            if step is not None:
                target = reverse(f"staffauth:{step}")
                return HttpResponseRedirect(
                    f"{target}?{urlencode({'next': request.get_full_path()})}"
                )
        return self.get_response(request)

    @staticmethod
    def _guarded(request: HttpRequest) -> bool:
        path = request.path
        if path == reverse("admin:logout"):
            return False
        prefixes = (reverse("admin:index"), reverse("receipts:export_new").rsplit("/", 1)[0] + "/")
        return path.startswith(prefixes)

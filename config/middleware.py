"""Request guards that apply to every URL, ahead of any view."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

NUL = "\x00"


class RefuseNulBytesMiddleware:
    """400 for a NUL anywhere in the path, the query string or a urlencoded form.

    PostgreSQL cannot store or even compare a text containing NUL: psycopg raises
    ValueError, so `Receipt.objects.filter(number="1\\x00")` was a 500 on any path that
    looks a value up. No legitimate URL or form value holds one, so refuse it once here
    instead of in every view. (Django's form fields refuse NUL too; views that read
    request.GET or request.POST directly did not.) Multipart bodies are left to the view's
    form: reading them here would consume the upload stream.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._carries_nul(request):
            return HttpResponseBadRequest(
                "The request contains a NUL character.", content_type="text/plain"
            )
        return self.get_response(request)

    @staticmethod
    def _carries_nul(request: HttpRequest) -> bool:
        if NUL in request.path or NUL in request.META.get("QUERY_STRING", ""):
            return True
        if any(NUL in key or any(NUL in v for v in values) for key, values in request.GET.lists()):
            return True
        if request.content_type == "application/x-www-form-urlencoded":
            return any(
                NUL in key or any(NUL in v for v in values) for key, values in request.POST.lists()
            )
        return False


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY (built in config.csp) on every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response

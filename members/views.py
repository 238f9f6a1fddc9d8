from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from members.services import newsletter_unsubscribe
from members.unsubscribe import subscription_for_token


# Mail clients POST "List-Unsubscribe=One-Click" without a session or CSRF token (RFC 8058);
# the signed token is the proof. GET only shows a button, because link scanners follow GETs.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    subscription = subscription_for_token(token)
    if subscription is None:
        return render(request, "members/unsubscribe_invalid.html", status=404)
    done = False
    if request.method == "POST":
        newsletter_unsubscribe(subscription=subscription)
        done = True
    return render(request, "members/unsubscribe.html", {"subscription": subscription, "done": done})

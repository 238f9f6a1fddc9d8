from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from members.confirmation import LinkRefused, subscription_to_confirm
from members.services import newsletter_confirm, newsletter_unsubscribe
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


# GET only shows a button: mail scanners follow links, and a scanner must not be able to
# give the consent that only the address's owner can give.
@require_http_methods(["GET", "POST"])
def confirm_subscription(request, token: str):
    try:
        subscription = subscription_to_confirm(token)
    except LinkRefused as refused:
        return render(
            request, "members/confirm_invalid.html", {"message": str(refused)}, status=404
        )
    done = request.method == "POST" and newsletter_confirm(subscription=subscription)
    return render(request, "members/confirm.html", {"subscription": subscription, "done": done})

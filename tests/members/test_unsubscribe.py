"""One-click unsubscribe (RFC 8058): a signed link; GET asks, POST unsubscribes."""

import pytest

from members.models import NewsletterSubscription
from members.services import newsletter_subscribe
from members.unsubscribe import list_unsubscribe_headers, unsubscribe_token
from tests.factories import NewsletterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscription(donor):
    return newsletter_subscribe(
        supporter=donor, newsletter=NewsletterFactory(name="The Morning"), source="donation_form"
    )


def path(subscription) -> str:
    return f"/newsletters/unsubscribe/{unsubscribe_token(subscription)}/"


def test_get_only_asks(client, subscription):
    response = client.get(path(subscription))
    assert response.status_code == 200
    assert b"Unsubscribe from The Morning?" in response.content
    subscription.refresh_from_db()
    assert subscription.status == NewsletterSubscription.Status.SUBSCRIBED


def test_a_one_click_post_unsubscribes_without_a_session_or_csrf_token(subscription):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        path(subscription), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == NewsletterSubscription.Status.UNSUBSCRIBED
    assert subscription.unsubscribed_at is not None


def test_a_second_click_changes_nothing(client, subscription):
    client.post(path(subscription))
    subscription.refresh_from_db()
    first = subscription.unsubscribed_at
    client.post(path(subscription))
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at == first


@pytest.mark.parametrize("token", ["nonsense", "1:forged:signature"])
def test_a_bad_token_is_a_clear_404(client, token):
    response = client.post(f"/newsletters/unsubscribe/{token}/")
    assert response.status_code == 404
    assert b"not valid" in response.content


def test_messages_carry_the_one_click_headers(subscription):
    headers = list_unsubscribe_headers(subscription)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_token(subscription) in headers["List-Unsubscribe"]

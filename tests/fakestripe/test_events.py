"""GET /v1/events, with created filters, for the app's missed-event sweep."""

import pytest
import stripe


def test_events_are_listed_newest_first_and_retrievable(client, em):
    client.v1.customers.create()
    client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    events = client.v1.events.list()
    assert [e.type for e in events.data][:2] == ["payment_intent.created", "customer.created"]
    again = client.v1.events.retrieve(events.data[0].id)
    assert again.data.object.object == "payment_intent"


def test_created_filters_select_a_window(client, em):
    client.v1.customers.create()
    cutoff = em.now() + 3600
    em.advance_clock(hours=2)
    client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    em.advance_clock(hours=2)
    after = client.v1.events.list(params={"created": {"gte": cutoff}})
    assert [e.type for e in after.data] == ["payment_intent.created"]
    before = client.v1.events.list(params={"created": {"lt": cutoff}, "type": "customer.created"})
    assert len(before.data) == 1


def test_type_wildcards_and_types(client):
    client.v1.customers.create()
    client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    pis = client.v1.events.list(params={"type": "payment_intent.*"})
    assert {e.type for e in pis.data} == {"payment_intent.created", "payment_intent.succeeded"}
    some = client.v1.events.list(params={"types": ["customer.created", "charge.succeeded"]})
    assert {e.type for e in some.data} == {"customer.created", "charge.succeeded"}


def test_auto_paging_walks_every_event(client):
    for _ in range(25):
        client.v1.customers.create()
    seen = list(
        client.v1.events.list(params={"limit": 10, "type": "customer.created"}).auto_paging_iter()
    )
    assert len(seen) == 25


def test_a_bad_cursor_is_refused(client):
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.list(params={"starting_after": "evt_missing"})


def test_events_name_the_request_that_caused_them(client):
    client.v1.customers.create(options={"idempotency_key": "why-1"})
    event = client.v1.events.list().data[0]
    assert event.request.idempotency_key == "why-1"
    assert event.request.id.startswith("req_")

import pytest

from tests.celery_worker import _app_broker


@pytest.mark.django_db
def test_it_answers_200_when_database_and_broker_answer(client, settings, tmp_path):
    with _app_broker(
        "filesystem://",
        {
            "data_folder_in": str(tmp_path),
            "data_folder_out": str(tmp_path),
            "control_folder": str(tmp_path),
        },
    ):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_it_answers_503_naming_an_unreachable_broker(client):
    with _app_broker("redis://127.0.0.1:1/0", {}):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert list(response.json()["failing"]) == ["broker"]


@pytest.mark.django_db
def test_it_answers_503_naming_an_unreachable_database(client, monkeypatch, tmp_path):
    from config import health

    monkeypatch.setattr(health, "database_error", lambda: "OperationalError: connection refused")
    with _app_broker(
        "filesystem://",
        {
            "data_folder_in": str(tmp_path),
            "data_folder_out": str(tmp_path),
            "control_folder": str(tmp_path),
        },
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == {"database": "OperationalError: connection refused"}


def test_it_refuses_post(client):
    assert client.post("/healthz").status_code == 405


# --- What a stranger may see ------------------------------------------------------------


@pytest.fixture
def failing_broker():
    with _app_broker("redis://:hunter2@127.0.0.1:1/0", {}):
        yield


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["203.0.113.9", "2001:db8::1"])
def test_a_stranger_sees_the_status_only(client, failing_broker, address):
    response = client.get("/healthz", REMOTE_ADDR=address)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert b"127.0.0.1:1" not in response.content and b"hunter2" not in response.content


@pytest.mark.django_db
def test_a_forwarded_for_header_does_not_make_a_stranger_local(client, failing_broker):
    response = client.get("/healthz", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert response.json() == {"status": "unavailable"}


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1"])
def test_a_probe_from_this_machine_sees_what_fails(client, failing_broker, address):
    response = client.get("/healthz", REMOTE_ADDR=address)
    assert list(response.json()["failing"]) == ["broker"]


@pytest.mark.django_db
def test_staff_see_what_fails_from_anywhere(client, failing_broker, admin_user):
    client.force_login(admin_user)
    response = client.get("/healthz", REMOTE_ADDR="203.0.113.9")
    assert list(response.json()["failing"]) == ["broker"]

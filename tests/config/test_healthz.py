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

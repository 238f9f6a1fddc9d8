"""Only finance staff export: everyone else signed in gets 403 on every export path."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from receipts.models import ExportLog
from tests.factories import UserFactory
from tests.receipts.export_data import at, gift_with_receipt, read_csv, streamed

EXPORT_FORM = {"file_format": "csv", "date_from": "2026-01-01", "date_to": "2026-12-31"}


@pytest.fixture
def finished_export(finance_exporter):
    """An export the background task finished, with its file under media."""
    log = ExportLog.objects.create(
        user=finance_exporter, requested_via="web", file_format="csv", rows=0, status=ExportLog.Status.DONE,
        filters={"from": "2026-01-01", "to": "2026-12-31", "rows_expected": 0},
    )  # fmt: skip
    log.file = default_storage.save(
        f"exports/{log.pk}/receipts.csv", ContentFile(b"\xef\xbb\xbfnumber\n")
    )
    log.save()
    return log


def every_export_path(log: ExportLog) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", "/receipts/exports/new", None),
        ("post", "/receipts/exports/new", EXPORT_FORM),
        ("get", f"/receipts/exports/{log.pk}", None),
        ("get", f"/receipts/exports/{log.pk}/status", None),
        ("get", f"/receipts/exports/{log.pk}/download", None),
        ("get", "/admin/receipts/exportlog/", None),
        ("get", "/admin/receipts/exportlog/new/", None),
        ("post", "/admin/receipts/exportlog/new/", EXPORT_FORM),
        ("get", f"/admin/receipts/exportlog/{log.pk}/change/", None),
        ("get", f"/admin/receipts/exportlog/{log.pk}/history/", None),
    ]


@pytest.mark.parametrize("who", ["other_staff", "stranger"])
def test_anyone_but_finance_staff_gets_403_on_every_export_path(
    client, request, finished_export, who
):
    gift_with_receipt(received=at("2026-03-01 12:00"))
    client.force_login(request.getfixturevalue(who))
    logs_before = ExportLog.objects.count()

    for method, url, data in every_export_path(finished_export):
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
        assert response.status_code == 403, (method, url, response.status_code)
        assert not response.streaming and b"number" not in response.content, (method, url)

    assert ExportLog.objects.count() == logs_before, "a refused export is not an export"


def test_a_finance_account_switched_off_since_signing_in_gets_nothing(client, finished_export):
    user = UserFactory(username="former", is_staff=True)
    user.groups.add(Group.objects.get(name="Finance"))
    client.force_login(user)
    user.is_active = False
    user.save()
    for method, url, data in every_export_path(finished_export):
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], (
            method,
            url,
        )


def test_a_signed_out_visitor_is_sent_to_sign_in(client, finished_export):
    for method, url, data in every_export_path(finished_export):
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], (
            method,
            url,
        )


def test_a_non_staff_user_holding_the_permission_still_gets_403(client, finished_export):
    user = UserFactory(username="volunteer", is_staff=False)
    user.user_permissions.add(Permission.objects.get(codename="export_receipts"))
    client.force_login(user)
    for method, url, data in every_export_path(finished_export):
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
        assert response.status_code == 403, (method, url)


def test_finance_staff_reach_every_export_path(client, finance_exporter, finished_export):
    gift_with_receipt(received=at("2026-03-01 12:00"))
    client.force_login(finance_exporter)
    for method, url, data in every_export_path(finished_export):
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
        assert response.status_code == 200, (method, url, response.status_code)
        if response.streaming:
            body = streamed(response)
            if url.endswith("download"):
                assert body.startswith(b"\xef\xbb\xbfnumber")
            else:
                assert len(read_csv(body)) == 1


def test_the_migration_gives_the_finance_group_the_export_permission(db):
    finance = Group.objects.get(name="Finance")
    assert finance.permissions.filter(
        codename="export_receipts", content_type__app_label="receipts"
    ).exists()


def test_the_admin_lists_exports_with_a_new_export_button_for_finance_only(
    client, finance_exporter, other_staff, finished_export
):
    client.force_login(finance_exporter)
    page = client.get("/admin/receipts/exportlog/").content.decode()
    assert (
        "/admin/receipts/exportlog/new/" in page
        and f"/receipts/exports/{finished_export.pk}/download" in page
    )
    assert "/admin/receipts/exportlog/" in client.get("/admin/").content.decode()
    client.force_login(other_staff)
    assert "exportlog" not in client.get("/admin/").content.decode()


def test_the_admin_export_form_streams_the_file(client, finance_exporter):
    gift_with_receipt(received=at("2026-03-01 12:00"))
    client.force_login(finance_exporter)
    response = client.post("/admin/receipts/exportlog/new/", EXPORT_FORM)
    assert response.status_code == 200 and len(read_csv(streamed(response))) == 1
    assert ExportLog.objects.filter(user=finance_exporter, status="done", rows=1).exists()


def test_nobody_edits_or_deletes_the_export_log_in_the_admin(
    client, finance_exporter, finished_export
):
    client.force_login(finance_exporter)
    assert client.post(f"/admin/receipts/exportlog/{finished_export.pk}/delete/").status_code == 403
    page = client.get(f"/admin/receipts/exportlog/{finished_export.pk}/change/").content.decode()
    assert 'name="_save"' not in page and "/delete/" not in page

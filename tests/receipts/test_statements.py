"""Year-end statements: one per donor, every gift net of refunds, in the org's time zone."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from donations.models import Donation
from receipts import services, statements
from receipts.delivery import pdf_bytes, render_pdf
from receipts.models import Receipt, ReceiptProblem
from tests.factories import RecurringDonationFactory, SupporterFactory
from tests.receipts.conftest import attached_pdf, make_gift, pdf_text, receipt_number
from tests.receipts.pdf_reading import fonts_drawing, pdf_fonts

pytestmark = pytest.mark.django_db(transaction=True)


def at(month, day, hour=12):
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


@pytest.fixture
def year_of_giving(donor):
    plan = RecurringDonationFactory(supporter=donor, amount=1500)
    monthly = [
        make_gift(
            donor, 1500, recurring=plan, frequency=Donation.Frequency.MONTHLY, succeeded_at=at(m, 5)
        )
        for m in range(1, 4)
    ]
    one_time = make_gift(
        donor, 10000, succeeded_at=at(6, 1), amount_refunded=4000, status="partially_refunded"
    )
    refunded = make_gift(
        donor, 2000, succeeded_at=at(7, 1), amount_refunded=2000, status="refunded"
    )
    for gift in [*monthly, one_time]:
        services.issue_gift_receipt(donation_id=gift.pk)
    return [*monthly, one_time, refunded]


def test_each_donor_gets_one_statement_listing_every_gift_net_of_refunds(year_of_giving, outbox):
    other = SupporterFactory()
    make_gift(other, 5000, succeeded_at=at(4, 1))
    outbox.clear()

    run = statements.issue_annual_statements(year=2026)

    assert len(run.issued) == 2
    statement = Receipt.objects.get(kind="annual", supporter=year_of_giving[0].supporter)
    assert statement.number == receipt_number(1, kind=Receipt.Kind.ANNUAL)
    assert statement.amount_received == 3 * 1500 + 6000  # the refunded gift nets to zero
    assert statement.snapshot_is_intact()
    assert set(statement.donations.all()) == set(year_of_giving)
    lines = statement.snapshot["lines"]
    assert [line["net"] for line in lines] == ["$15.00", "$15.00", "$15.00", "$60.00", "$0.00"]
    assert lines[0]["receipt"] == receipt_number(1)
    mine = next(m for m in outbox if m.to == ["donor@example.com"])
    assert mine.subject == "Your 2026 giving statement from Springfield Free Press"
    text = pdf_text(attached_pdf(mine))
    assert (
        "Annual giving statement 2026" in text
        and receipt_number(1, kind=Receipt.Kind.ANNUAL) in text
    )
    assert "$105.00" in text and "$40.00" in text  # total net, and refunds shown
    assert "No goods or services were provided in return for these contributions." in text
    assert "America/New_York" in text


def test_running_twice_issues_nothing_new(year_of_giving, outbox):
    statements.issue_annual_statements(year=2026)
    sent = len(outbox)

    again = statements.issue_annual_statements(year=2026)

    assert again.issued == [] and again.skipped_existing == 1
    assert Receipt.objects.filter(kind="annual").count() == 1
    assert len(outbox) == sent


def test_gifts_count_in_the_organisations_year_not_utcs(donor):
    # 02:00 UTC on 1 January 2027 is 21:00 on 31 December 2026 in New York.
    make_gift(donor, 1000, succeeded_at=dt.datetime(2027, 1, 1, 2, tzinfo=dt.UTC))
    # 23:00 New York time on 31 December 2025 is already 2026 in UTC.
    make_gift(donor, 2000, succeeded_at=dt.datetime(2026, 1, 1, 4, tzinfo=dt.UTC))

    statements.issue_annual_statements(year=2026)

    statement = Receipt.objects.get(kind="annual")
    assert statement.amount_received == 1000
    assert [line["date"] for line in statement.snapshot["lines"]] == ["2026-12-31"]


def test_a_donor_whose_gifts_were_all_refunded_gets_no_statement(donor):
    make_gift(donor, 2000, amount_refunded=2000, status="refunded")

    run = statements.issue_annual_statements(year=2026)

    assert run.issued == [] and run.skipped_nothing_given == 1


def test_a_donor_missing_a_required_field_is_listed_as_a_problem(canada, donor):
    donor.address_line1 = donor.city = donor.region = donor.postal_code = donor.country = ""
    donor.save()
    make_gift(donor, 2000)

    run = statements.issue_annual_statements(year=2026)

    assert run.issued == [] and run.problems == 1
    problem = ReceiptProblem.objects.get(kind="annual")
    assert problem.tax_year == 2026 and problem.missing_fields == ["donor address"]


def test_canadian_statement_says_it_is_not_an_official_receipt(canada, donor):
    make_gift(donor, 2000)
    statements.issue_annual_statements(year=2026)

    text = pdf_text(pdf_bytes(Receipt.objects.get(kind="annual")))
    assert "It is not an official receipt for income tax purposes" in text


def test_the_command_issues_and_reports(year_of_giving, capsys):
    with time_machine.travel(local(2027, 1, 2, 9, 0), tick=False):
        call_command("issue_annual_statements", "2026", "--render-here")

    assert "2026: 1 statement(s) issued" in capsys.readouterr().out
    assert Receipt.objects.get(kind="annual").pdf


def test_the_command_refuses_a_year_not_yet_begun():
    with pytest.raises(CommandError, match="YEAR must be between"):
        call_command("issue_annual_statements", "2999")


def test_the_command_refuses_a_year_not_yet_begun_in_the_organisations_zone(time_machine):
    from django.core.management.base import CommandError

    # 23:30 on New Year's Eve in New York: already 2027 in UTC, still 2026 here.
    time_machine.move_to(dt.datetime.fromisoformat("2026-12-31T23:30:00-05:00"), tick=False)

    with pytest.raises(CommandError, match="YEAR must be between 2000 and 2026; got 2027"):
        call_command("issue_annual_statements", "2027")


def test_beat_on_15_january_issues_the_year_just_ended(time_machine, monkeypatch):
    from receipts import tasks

    asked = []
    monkeypatch.setattr(tasks.issue_statements, "delay", asked.append)
    time_machine.move_to(dt.datetime.fromisoformat("2027-01-15T00:30:00-05:00"), tick=False)

    tasks.issue_last_years_statements()

    assert asked == [2026]


def local(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=ZoneInfo(settings.TIME_ZONE))


def test_the_command_refuses_a_year_that_has_not_ended_in_the_orgs_time_zone(
    year_of_giving, outbox
):
    # 23:30 on 31 December in New York is already 1 January in UTC.
    with (
        time_machine.travel(local(2026, 12, 31, 23, 30), tick=False),
        pytest.raises(CommandError, match="has not ended.*--before-year-end"),
    ):
        call_command("issue_annual_statements", "2026", "--render-here")
    assert not Receipt.objects.filter(kind="annual").exists()
    assert not outbox


def test_the_command_issues_once_the_year_has_ended_locally(year_of_giving, capsys):
    with time_machine.travel(local(2027, 1, 1, 0, 30), tick=False):
        call_command("issue_annual_statements", "2026", "--render-here")
    assert Receipt.objects.filter(kind="annual").count() == 1


def test_the_command_issues_early_only_when_told_to(year_of_giving, capsys):
    with time_machine.travel(local(2026, 12, 4, 10, 0), tick=False):
        call_command("issue_annual_statements", "2026", "--render-here", "--before-year-end")
    assert "not over yet" in capsys.readouterr().err
    assert Receipt.objects.filter(kind="annual").count() == 1


def test_beat_issues_last_years_statements_on_15_january():
    entry = settings.CELERY_BEAT_SCHEDULE["receipts-annual-statements"]
    schedule = entry["schedule"]

    assert entry["task"] == "receipts.tasks.issue_last_years_statements"
    assert schedule.month_of_year == {1} and schedule.day_of_month == {15}


def test_a_chunk_delivered_twice_sends_each_statement_once(donor, outbox, monkeypatch):
    from receipts import tasks

    other = SupporterFactory()
    make_gift(donor, 2000)
    make_gift(other, 3000)
    monkeypatch.setattr(tasks.render_and_send_statements, "delay", lambda *a, **k: None)
    run = statements.issue_annual_statements(year=2026)
    monkeypatch.undo()
    outbox.clear()

    tasks.render_and_send_statements(run.issued)
    tasks.render_and_send_statements(run.issued)

    assert sorted(m.to[0] for m in outbox) == sorted(["donor@example.com", other.email])
    assert set(Receipt.objects.filter(kind="annual").values_list("delivery_status", flat=True)) == {
        "sent"
    }


# --- The statement PDF: ReportLab by default, WeasyPrint by setting ----------------------


@pytest.fixture(params=["reportlab", "weasyprint"])
def renderer(request, settings):
    settings.RECEIPT_STATEMENT_RENDERER = request.param
    return request.param


def statement_text(**kwargs) -> str:
    return pdf_text(render_pdf(Receipt.objects.get(kind="annual").snapshot, **kwargs))


@pytest.mark.parametrize("jurisdiction", ["US", "CA", "UK"])
def test_each_renderer_prints_every_word_the_rules_give(renderer, jurisdiction, donor, request):
    if jurisdiction != "US":
        request.getfixturevalue({"CA": "canada", "UK": "united_kingdom"}[jurisdiction])
    make_gift(donor, 2000, succeeded_at=at(2, 1))
    make_gift(donor, 3500, succeeded_at=at(9, 1))
    statements.issue_annual_statements(year=2026)
    statement = Receipt.objects.get(kind="annual")

    text = statement_text()

    snapshot = statement.snapshot
    for line in snapshot["rules"]["statements"]:
        assert " ".join(line.split()) in text, (renderer, line)
    assert f"Statement number {statement.number}" in text
    assert "$20.00" in text and "$35.00" in text and "$55.00" in text
    assert "Gift Aid" in text if jurisdiction == "UK" else "Benefit" in text
    assert snapshot["donor"]["name"] in text and snapshot["organisation"]["name"] in text


def test_a_void_statement_and_a_copy_say_so(renderer, donor):
    make_gift(donor, 2000)
    statements.issue_annual_statements(year=2026)

    assert "VOID — this receipt is no longer valid." in statement_text(void=True)
    assert (
        f"COPY — a duplicate of receipt {receipt_number(1, kind=Receipt.Kind.ANNUAL)}"
        in statement_text(copy=True)
    )


def test_the_statement_embeds_our_fonts_and_prints_any_donors_name(donor):
    # DejaVu covers Latin, Greek and Cyrillic, Droid Sans Fallback the Chinese character; the
    # fonts are subset-embedded, so the PDF prints the same on any reader.
    donor.first_name, donor.last_name = "Zoë Ñandú", "Łukasiewicz-Σοφία Жуковская 王"
    donor.save()
    make_gift(donor, 2000)
    statements.issue_annual_statements(year=2026)
    content = pdf_bytes(Receipt.objects.get(kind="annual"))

    assert "Zoë Ñandú Łukasiewicz-Σοφία Жуковская 王" in pdf_text(content)
    fonts = pdf_fonts(content)
    assert {font.family for font in fonts} == {
        "DejaVuSans",
        "DejaVuSans-Bold",
        "DroidSansFallback",
    }, fonts
    assert all(font.embedded and font.subset for font in fonts), fonts
    drawn = fonts_drawing(content, "ŁΣЖ王")
    assert {font.family for font in drawn["王"]} == {"DroidSansFallback"}, drawn
    for character in "ŁΣЖ":
        assert {font.family for font in drawn[character]} == {"DejaVuSans"}, drawn


def test_a_template_error_is_named_not_printed(settings):
    from receipts.pdf_reportlab import MarkupError, renderer

    with pytest.raises(MarkupError, match="unknown paragraph style 'shout'"):
        renderer().render_markup('<statement><p class="shout">Hi</p></statement>')
    with pytest.raises(MarkupError, match="malformed"):
        renderer().render_markup("<statement><p>unclosed</statement>")


def test_markup_characters_in_a_name_print_as_written(renderer, donor):
    donor.first_name, donor.last_name = "Ann & Bob", "<O'Hara>"
    donor.save()
    make_gift(donor, 2000)
    statements.issue_annual_statements(year=2026)

    assert "Ann & Bob <O'Hara>" in statement_text()

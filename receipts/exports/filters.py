"""What a finance export covers, and the one form that validates it (web and command).

Dates are calendar days in the organisation's time zone (settings.TIME_ZONE) and both
ends are inclusive, the way an accountant writes a period: "2026-01-01 to 2026-12-31"
covers every gift received from midnight on 1 January to the last instant of 31
December, local time. A fiscal year starts on the first of FISCAL_YEAR_START_MONTH and
is named by the calendar year it ends in (FY2026 with a July start is 2025-07-01 to
2026-06-30), unless FISCAL_YEAR_NAMED_BY says "start".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator

from receipts.models import Receipt

JURISDICTIONS = [("US", "United States"), ("CA", "Canada"), ("UK", "United Kingdom")]
# Excel's sheet limit, less the header row: a bigger .xlsx would be silently cut short.
XLSX_MAX_ROWS = 1_048_575


def organisation_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def fiscal_year_dates(year: int) -> tuple[dt.date, dt.date]:
    """The first and last day (inclusive) of fiscal year `year`."""
    month = settings.FISCAL_YEAR_START_MONTH
    if month == 1:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    first_year = year - 1 if settings.FISCAL_YEAR_NAMED_BY == "end" else year
    first = dt.date(first_year, month, 1)
    return first, dt.date(first_year + 1, month, 1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class ExportFilters:
    date_from: dt.date
    date_to: dt.date
    fiscal_year: int | None = None
    statuses: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()

    @property
    def start(self) -> dt.datetime:
        """The first instant of the period (aware), in the organisation's time zone."""
        return dt.datetime.combine(self.date_from, dt.time.min, tzinfo=organisation_zone())

    @property
    def end(self) -> dt.datetime:
        """The first instant AFTER the period: the query takes received_at < end."""
        next_day = self.date_to + dt.timedelta(days=1)
        return dt.datetime.combine(next_day, dt.time.min, tzinfo=organisation_zone())

    def as_json(self) -> dict:
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "fiscal_year": self.fiscal_year,
            "status": list(self.statuses),
            "jurisdiction": list(self.jurisdictions),
            "kind": list(self.kinds),
            "time_zone": settings.TIME_ZONE,
        }

    @classmethod
    def from_json(cls, data: dict) -> ExportFilters:
        return cls(
            date_from=dt.date.fromisoformat(data["from"]),
            date_to=dt.date.fromisoformat(data["to"]),
            fiscal_year=data.get("fiscal_year"),
            statuses=tuple(data.get("status") or ()),
            jurisdictions=tuple(data.get("jurisdiction") or ()),
            kinds=tuple(data.get("kind") or ()),
        )

    def describe(self) -> str:
        """The period in words, as printed in the file and on the progress page."""
        period = f"{self.date_from.isoformat()} to {self.date_to.isoformat()} inclusive"
        if self.fiscal_year:
            period = f"fiscal year {self.fiscal_year}: {period}"
        return f"{period} ({settings.TIME_ZONE})"

    def filename(self, file_format: str) -> str:
        return f"receipts_{self.date_from.isoformat()}_to_{self.date_to.isoformat()}.{file_format}"


_DATE_BOUNDS = [
    MinValueValidator(dt.date(1900, 1, 1), message="Give a date in 1900 or later."),
    MaxValueValidator(dt.date(2999, 12, 31), message="Give a date before 3000."),
]


class ExportForm(forms.Form):
    """A date range OR a fiscal year, and optional status, jurisdiction and kind filters."""

    # Bounded like the fiscal year: the period's end is the day after date_to, which for
    # 9999-12-31 does not exist (an OverflowError, a 500, before these bounds).
    date_from = forms.DateField(label="From (inclusive)", required=False, validators=_DATE_BOUNDS)
    date_to = forms.DateField(label="To (inclusive)", required=False, validators=_DATE_BOUNDS)
    fiscal_year = forms.IntegerField(
        label="Or fiscal year", required=False, min_value=1900, max_value=2999
    )
    status = forms.MultipleChoiceField(
        choices=Receipt.Status.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave empty for every status. Sum only 'issued' rows for totals: a void "
        "receipt and its replacement share one gift.",
    )
    jurisdiction = forms.MultipleChoiceField(
        choices=JURISDICTIONS, required=False, widget=forms.CheckboxSelectMultiple
    )
    kind = forms.MultipleChoiceField(
        choices=Receipt.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave empty for both gift receipts and annual statements.",
    )
    file_format = forms.ChoiceField(
        label="Format", choices=[("csv", "CSV"), ("xlsx", "Excel (.xlsx)")], initial="csv"
    )

    def clean(self) -> dict:
        data = super().clean()
        year = data.get("fiscal_year")
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if self.errors:
            return data
        if year and (date_from or date_to):
            raise forms.ValidationError("Give either a date range or a fiscal year, not both.")
        if year:
            data["date_from"], data["date_to"] = fiscal_year_dates(year)
        elif not (date_from and date_to):
            raise forms.ValidationError("Give both dates of the range, or a fiscal year.")
        elif date_from > date_to:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def export_filters(self) -> ExportFilters:
        data = self.cleaned_data
        return ExportFilters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            fiscal_year=data.get("fiscal_year"),
            statuses=tuple(data.get("status") or ()),
            jurisdictions=tuple(data.get("jurisdiction") or ()),
            kinds=tuple(data.get("kind") or ()),
        )

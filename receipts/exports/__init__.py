"""The finance export: receipts with the money of their gifts, as CSV or Excel.

- `filters`: what to export (a date range or fiscal year in the organisation's time zone,
  statuses, jurisdictions) and the form that validates it for the web and the command.
- `query`: the one SELECT behind every format, and the two ways rows leave the database
  (PostgreSQL's COPY for CSV; a chunked cursor elsewhere).
- `formats`: columns, CSV and .xlsx writers.
- `services`: start, stream, write to a file, decide when to go async; every export logged.
"""

"""The report's files and entry points: :func:`write_report` reads ABB's analysis store
(:func:`pijler3.report.data.build_report`) and :func:`render` writes the three files,
each atomically:

- ``indicators.csv``: exactly the columns of DATA.md §4, full precision, for every
  retained delivery (:func:`render_csv`);
- ``report.xlsx``: every table of the page, typed, for Excel
  (:func:`pijler3.report.xlsx.render_xlsx`);
- ``report.html``: one self-contained Dutch page, inline CSS and SVG, no network
  (:func:`pijler3.report.html.render_html`);
- ``factsheet.html``: a two-page A4 summary (:mod:`pijler3.report.factsheet`), and
  ``factsheet.pdf`` printed from it when headless Chromium is installed.
- ``disclosure.json``: every count of the three as published (hidden ones empty) with
  the disclosure audit's figures, from which ``pijler3 audit-disclosure`` re-runs the
  audit without the raw counts (:func:`pijler3.analysis.disclosure_publish.document`).

The disclosure audit (INDICATORS.md rules 6-7) runs before any file is written; when it
cannot pass nothing is written. :func:`write_report` records its figures in the
workspace's audit log (event ``report.written``), and what the report shows and hides in
the analysis store, before the files: the next report takes it into account, so that
two reports read side by side reveal no more than each alone
(:mod:`pijler3.analysis.disclosure_audit`).

The report holds aggregated, disclosure-controlled figures only: never a pseudonym,
never a value of one person.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pijler3.analysis import disclosure, disclosure_publish, linked_tables
from pijler3.analysis.disclosure import PublishedTable
from pijler3.analysis.disclosure_audit import AuditResult
from pijler3.analysis.linked_tables import Shown, Withheld
from pijler3.analysis.store import Store
from pijler3.contract.errors import UserError
from pijler3.exchange.atomic import write_atomic
from pijler3.exchange.workspace import Workspace
from pijler3.report import factsheet
from pijler3.report.data import ReportData, build_report
from pijler3.report.html import render_html
from pijler3.report.xlsx import render_xlsx

HTML_NAME = "report.html"
XLSX_NAME = "report.xlsx"
CSV_NAME = "indicators.csv"
FACTSHEET_NAME = "factsheet.html"
FACTSHEET_PDF_NAME = "factsheet.pdf"
DISCLOSURE_NAME = "disclosure.json"
REPORT_WRITTEN = "report.written"


@dataclass(frozen=True)
class ReportResult:
    html: Path
    xlsx: Path
    csv: Path
    # Deliveries in the store past their retention date, left out of the report: the
    # CLI warns that 'pijler3 purge' is due when this is not zero.
    expired_left_out: int = 0
    factsheet: Path | None = None
    # None when no headless Chromium could print it; then why, for the CLI.
    factsheet_pdf: Path | None = None
    disclosure: Path | None = None
    no_pdf_reason: str = ""

    @property
    def files(self) -> list[Path]:
        """Every file written, the fact sheet and its PDF included when there are."""
        extra = (self.factsheet, self.factsheet_pdf, self.disclosure)
        return [self.html, self.xlsx, self.csv, *(p for p in extra if p is not None)]


def render(data: ReportData, out: Path, *, pdf: bool = True) -> ReportResult:
    """Write the files into ``out``, each atomically; ``factsheet.pdf`` only when ``pdf``
    and a headless Chromium prints it (a stale one from an earlier run is removed)."""
    out.mkdir(parents=True, exist_ok=True)
    doc = json.dumps(data.disclosure_document, indent=1, sort_keys=True) + "\n"
    write_atomic(out / DISCLOSURE_NAME, doc.encode("utf-8"))
    sheet = out / FACTSHEET_NAME
    write_atomic(sheet, factsheet.render_factsheet(data).encode("utf-8"))
    browser = factsheet.chromium() if pdf else None
    # Chromium prints the fact sheet while the other files are rendered (it waits in a
    # thread; the browser is a process of its own).
    with ThreadPoolExecutor(max_workers=1) as pool:
        printing = pool.submit(factsheet.print_pdf, sheet, browser) if browser else None
        write_atomic(out / CSV_NAME, render_csv(data.table))
        write_atomic(out / XLSX_NAME, render_xlsx(data))
        write_atomic(out / HTML_NAME, render_html(data).encode("utf-8"))
        printed = printing.result() if printing is not None else None
    pdf_path = out / FACTSHEET_PDF_NAME
    if printed is not None:
        write_atomic(pdf_path, printed)
    else:
        pdf_path.unlink(missing_ok=True)
    return ReportResult(
        out / HTML_NAME,
        out / XLSX_NAME,
        out / CSV_NAME,
        data.expired_left_out,
        sheet,
        pdf_path if printed is not None else None,
        out / DISCLOSURE_NAME,
        ""
        if printed is not None
        else "Chromium not found"
        if browser is None
        else "Chromium could not print it; print the fact sheet from a browser",
    )


def write_report(
    ws: Workspace,
    out: Path,
    *,
    now: dt.datetime,
    pdf: bool = True,
    earlier: Sequence[Path] = (),
) -> ReportResult:
    """The report of every delivery ABB's analysis store still retains, written into
    ``out``; :attr:`ReportResult.expired_left_out` counts those past retention. ``pdf``:
    print the fact sheet to PDF when headless Chromium is installed. ``earlier``: report
    folders this store did not write (another researcher's, or written before the store
    kept its record): this report takes them into account, and the store records them
    with it, for every later report.
    """
    protocol = ws.protocol()
    if not ws.store_path.exists():
        raise UserError(
            f"{ws.store_path}: no analysis store in this workspace.",
            hint="Run the report in an ABB workspace after 'pijler3 ingest'.",
        )
    # Every earlier folder is read before the store changes: a bad one changes nothing.
    imported: dict[str, tuple[set[Shown], set[Withheld]]] = {}
    for folder in earlier:
        try:
            shown, withheld = linked_tables.document_record(_document(folder))
        except ValueError as exc:
            raise _not_a_document(folder / DISCLOSURE_NAME, exc) from None
        imported[_report_id(shown, withheld)] = (shown, withheld)
    with Store(ws.store_path, protocol) as store:
        data = build_report(store, protocol, now=now, imported=imported)
        # Recorded once the report is built and before any file is written: a crash in
        # between leaves a record of a report never seen, which only makes later reports
        # more careful; the reverse would leave a report the next one does not know of.
        mine = _report_id(data.shown, data.withheld)
        records = {**imported, mine: (set(data.shown), set(data.withheld))}
        for report, (shows, hides) in records.items():
            store.record_published(report, now, shows, hides)
    result = render(data, out, pdf=pdf)
    ws.audit().append(
        REPORT_WRITTEN,
        {
            "deliveries": [d.delivery_id for d in data.deliveries],
            "earlier_folders_recorded": len(imported),
            "quality_counts_hidden": data.quality_hidden,
            "disclosure": dict(data.disclosure_audit),
            "files": [p.name for p in result.files],
        },
        now=now,
    )
    return result


def _report_id(shown: Collection[Shown], withheld: Collection[Withheld]) -> str:
    """The id a report's counts are recorded under: the same counts, the same id."""
    text = json.dumps([sorted(shown), sorted(withheld)], default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def render_csv(table: PublishedTable) -> bytes:
    """DATA.md §4: exactly its columns, full precision, ``.`` decimal point, true/false,
    empty cells for what disclosure control hid."""
    frame = table.frame.select(disclosure.COLUMNS)
    return frame.write_csv(date_format="%Y-%m-%d", null_value="").encode("utf-8")


@dataclass(frozen=True)
class DisclosureCheck:
    """The disclosure audit of a published folder: the audit re-run from
    ``disclosure.json`` and the counts of ``indicators.csv`` that the document does not
    describe (each as one line)."""

    result: AuditResult
    mismatches: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return self.result.passed and not self.mismatches


def _document(folder: Path) -> dict[str, Any]:
    """The ``disclosure.json`` of a report folder, parsed; a clear error when missing."""
    path = folder / DISCLOSURE_NAME
    if not path.is_file():
        raise UserError(
            f"{path}: not found; a report folder holds {DISCLOSURE_NAME} next to {CSV_NAME}.",
            hint="Give the folder that 'pijler3 report' wrote.",
        )
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _not_a_document(path, exc) from None
    if not isinstance(doc, dict):
        raise _not_a_document(path, "not a JSON object")
    return doc


def _not_a_document(path: Path, why: object) -> UserError:
    return UserError(f"{path}: not a disclosure document ({why}).")


def audit_published(folder: Path) -> DisclosureCheck:
    """Re-run the disclosure audit (INDICATORS.md rule 7) on a folder ``pijler3 report``
    wrote, without the raw counts: every hidden count's range from ``disclosure.json``,
    and every count of ``indicators.csv`` checked against the document."""
    path = folder / DISCLOSURE_NAME
    doc = _document(folder)
    try:
        result = disclosure_publish.audit_document(doc)
    except (ValueError, TypeError, KeyError) as exc:
        raise _not_a_document(path, exc) from None
    shown: dict[tuple[str, str, str, str, str], object] = {}
    for c in doc["cells"]:
        shown[(c["peildatum"], c["table"], c["breakdown"], c["category"], c["kind"])] = c["value"]
    mismatches: list[str] = []
    csv = folder / CSV_NAME
    if csv.is_file():
        try:
            frame = pl.read_csv(csv, schema=dict(disclosure.SCHEMA))
        except pl.exceptions.PolarsError as exc:
            raise UserError(f"{csv}: not an indicator table ({exc}).") from None
        for n, row in enumerate(frame.iter_rows(named=True), start=2):
            for kind in ("denominator", "numerator"):
                key = (
                    row["peildatum"].isoformat(),
                    row["indicator"],
                    row["breakdown"],
                    row["category"],
                    kind,
                )
                if key not in shown or shown[key] != row[kind]:
                    mismatches.append(f"{csv.name} row {n}, column {kind}")
    return DisclosureCheck(result, tuple(mismatches))

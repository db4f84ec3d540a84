"""The one-command demo: all three parties, throwaway keys, synthetic extracts.

Creates workspaces for AgII, VDAB and ABB's two researchers under ``OUT/workspaces``,
registers their public keys in one protocol file installed in each, generates synthetic
extracts for D quarterly peildatums (or takes given extracts for one delivery), runs
export → link → publish → ingest for each, then writes the report.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pijler3.contract import protocol as protocol_mod
from pijler3.contract.errors import UserError
from pijler3.exchange import workspace
from pijler3.exchange.atomic import write_atomic
from pijler3.extracts import synth
from pijler3.steps import export, ingest, link, publish

MARKER = ".pijler3-demo"
RESEARCHERS = ("Onderzoeker A", "Onderzoeker B")


@dataclass(frozen=True)
class DemoResult:
    out: Path
    report: Path | None
    summary: str


def quarter_ends(before: dt.date, count: int) -> list[dt.date]:
    """The last ``count`` quarter-end days strictly before ``before``, oldest first."""
    ends: list[dt.date] = []
    year, quarter = before.year, (before.month - 1) // 3 + 1
    while len(ends) < count:
        quarter -= 1
        if quarter == 0:
            year, quarter = year - 1, 4
        month = quarter * 3
        nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
        ends.append(nxt - dt.timedelta(days=1))
    return sorted(ends)


def _fresh(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise UserError(
                f"{out}: exists and is not a pijler3 demo folder; nothing was changed.",
                hint="Choose another folder.",
                param="out",
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("A throwaway pijler3 demo; safe to delete.\n")


def setup(
    out: Path, now: dt.datetime, protocol_text: str | None = None
) -> dict[str, workspace.Workspace]:
    """Create the four workspaces and one protocol file with all their keys."""
    root = out / "workspaces"
    spaces = {
        "agii": workspace.init("agii", root / "agii", now=now),
        "vdab": workspace.init("vdab", root / "vdab", now=now),
    }
    for i, name in enumerate(RESEARCHERS, start=1):
        spaces[f"abb-{i}"] = workspace.init("abb", root / f"abb-{i}", name=name, now=now)
    proto = out / "protocol.toml"
    write_atomic(proto, (protocol_text or protocol_mod.default_text()).encode())
    for ws in spaces.values():
        workspace.register_keys(proto, ws.public())
    for ws in spaces.values():
        write_atomic(ws.protocol_path, proto.read_bytes())
    return spaces


def run(
    out: Path,
    *,
    persons: int,
    deliveries: int,
    seed: int,
    now: dt.datetime,
    extracts: tuple[Path, Path, Path] | None = None,
    peildatum: dt.date | None = None,
    echo: Callable[[str], None] = print,
) -> DemoResult:
    _fresh(out)
    if extracts is not None and peildatum is not None:
        plan = [(peildatum, extracts)]
    else:
        plan = []
        days = quarter_ends(now.date(), deliveries)
        # One population, seen at each peildatum: later snapshots hold everyone of the
        # earlier ones plus the newcomers, so pseudonyms can be followed over time.
        for day in days:
            result = synth.generate(
                out / "extracts" / f"{day:%Y%m%d}",
                persons=persons,
                peildatum=day,
                seed=seed,
                population_end=days[-1],
            )
            plan.append((day, (result.kbi, result.werkzoekenden, result.acties)))

    def moment(day: dt.date) -> dt.datetime:
        return min(dt.datetime.combine(day + dt.timedelta(days=7), dt.time(9), tzinfo=dt.UTC), now)

    # The workspaces are made on the day of the first delivery: an audit log's records
    # never go back in time, and the demo replays deliveries made in the past.
    spaces = setup(out, min([now, *(moment(day) for day, _ in plan)]))
    echo(f"Created workspaces for AgII, VDAB and ABB's researchers in {out / 'workspaces'}")
    lines = []
    for day, (kbi, wz, ac) in plan:
        at = moment(day)
        e = export.export(spaces["agii"], kbi, peildatum=day, now=at)
        li = link.link(spaces["vdab"], e.package, wz, ac, now=at)
        p = publish.publish(spaces["agii"], li.package, now=at)
        for i in range(1, len(RESEARCHERS) + 1):
            ing = ingest.ingest(spaces[f"abb-{i}"], p.package, now=at)
        lines.append(
            f"  peildatum {day:%d/%m/%Y}: {e.rows_read} KBI rows, {sum(e.quarantined.values())}"
            f" quarantined, {li.matched} linked at VDAB ({li.report['match_rate']:.1%}),"
            f" {ing.rows} rows ingested (kept until {ing.expires_at:%d/%m/%Y})"
        )
        echo(lines[-1])
        if p.warnings:
            echo(
                f"    re-identification risk: {p.risk.sample_unique_share:.1%} of records unique"
                f" on the quasi-identifiers; {len(p.warnings)} warning(s) recorded (the"
                " protocol's gate warns; see the report's section 6)"
            )
    report_path = _report(spaces["abb-1"], out / "report", now)
    summary = "\n".join(
        ["Demo finished.", f"  workspaces: {out / 'workspaces'}"]
        + ([f"  report: {report_path}"] if report_path else ["  (no report module yet)"])
    )
    return DemoResult(out, report_path, summary)


def _report(ws: workspace.Workspace, out: Path, now: dt.datetime) -> Path | None:
    try:
        from pijler3.report import files as report
    except ImportError:
        return None
    return report.write_report(ws, out, now=now).html

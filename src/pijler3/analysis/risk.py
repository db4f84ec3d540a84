"""Re-identification risk of the monitoring dataset, and the release gate at publication.

The monitoring dataset is pseudonymised, not anonymous: a combination of
quasi-identifiers (age category, sex, nationality, region, residence status, schooling,
contract month) can single a person out. Before AgII publishes, :func:`measure` computes
the measures statistics offices compute with ARX or sdcMicro, on the quasi-identifiers
and sensitive fields the protocol file names:

- k-anonymity: the size of the smallest equivalence class (records that agree on every
  quasi-identifier);
- the number and share of sample-unique records (classes of size 1);
- per-record re-identification risk ``1 / size of its class``, with its mean and maximum
  (the mean over records equals ``classes / records``, the maximum equals ``1 / k``);
- the number of records in classes smaller than ``risk.k_report``;
- distinct l-diversity of each sensitive field: the fewest distinct values of that field
  within any class;
- each quasi-identifier's contribution to uniqueness: how many sample uniques disappear
  when it is left out, in the spirit of sdcMicro's SUDA.

Conventions, fixed so that the figures can be reproduced with other tools:

- A missing value (null) in a quasi-identifier is its own category: records with a
  missing nationality form classes together, as they would if the null were written as
  a code "unknown". Dropping them would hide exactly the rare records.
- A missing value in a sensitive field counts as one more distinct value; "no outflow to
  work" is information about a person too.
- Dates, in quasi-identifiers and sensitive fields alike, enter at the protocol's
  ``risk.date_granularity``: ``month`` truncates to the first of the month, ``quarter``
  to the first of the quarter, ``year`` to 1 January, ``day`` leaves them as they are.

:func:`gate` compares a report with the protocol's thresholds and returns the breached
rules as plain English lines naming the quasi-identifiers that drive them; the report
carries counts and shares only, never a value of a record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from pijler3.contract import protocol
from pijler3.contract.errors import UserError

FORMAT = "pijler3-risk/1"

_TRUNCATE = {"month": "1mo", "quarter": "1q", "year": "1y"}
_COUNT = "__pijler3_count"
_DRIVERS = 3  # how many quasi-identifiers a gate message names


@dataclass(frozen=True)
class RiskReport:
    """The re-identification risk of one dataset: counts and shares only."""

    quasi_identifiers: tuple[str, ...]
    sensitive: tuple[str, ...]
    date_granularity: str
    records: int
    k: int  # 0 for an empty dataset
    classes: int
    sample_uniques: int
    sample_unique_share: float
    mean_risk: float
    max_risk: float
    k_report: int
    records_below_k_report: int
    classes_below_k_report: int
    l_diversity: dict[str, int]  # per sensitive field: fewest distinct values in a class
    # Per quasi-identifier: sample uniques that disappear when it is left out, largest first.
    contributions: tuple[tuple[str, int], ...]
    # Per quasi-identifier: how much the mean risk falls when it is left out, largest first.
    mean_risk_contributions: tuple[tuple[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dictionary for the package manifest and the report."""
        return {
            "format": FORMAT,
            "quasi_identifiers": list(self.quasi_identifiers),
            "sensitive": list(self.sensitive),
            "date_granularity": self.date_granularity,
            "records": self.records,
            "k": self.k,
            "classes": self.classes,
            "sample_uniques": self.sample_uniques,
            "sample_unique_share": self.sample_unique_share,
            "mean_risk": self.mean_risk,
            "max_risk": self.max_risk,
            "k_report": self.k_report,
            "records_below_k_report": self.records_below_k_report,
            "classes_below_k_report": self.classes_below_k_report,
            "l_diversity": dict(self.l_diversity),
            "contributions": [{"field": f, "uniques": n} for f, n in self.contributions],
            "mean_risk_contributions": [
                {"field": f, "mean_risk": r} for f, r in self.mean_risk_contributions
            ],
        }

    @classmethod
    def from_dict(cls, d: Any) -> RiskReport:
        """Read :meth:`to_dict`'s form back; ValueError when it is not one."""
        try:
            if not isinstance(d, dict) or d.get("format") != FORMAT:
                raise ValueError("not a risk report of this format")
            return cls(
                quasi_identifiers=tuple(str(x) for x in d["quasi_identifiers"]),
                sensitive=tuple(str(x) for x in d["sensitive"]),
                date_granularity=str(d["date_granularity"]),
                records=int(d["records"]),
                k=int(d["k"]),
                classes=int(d["classes"]),
                sample_uniques=int(d["sample_uniques"]),
                sample_unique_share=float(d["sample_unique_share"]),
                mean_risk=float(d["mean_risk"]),
                max_risk=float(d["max_risk"]),
                k_report=int(d["k_report"]),
                records_below_k_report=int(d["records_below_k_report"]),
                classes_below_k_report=int(d["classes_below_k_report"]),
                l_diversity={str(k): int(v) for k, v in d["l_diversity"].items()},
                contributions=tuple(
                    (str(c["field"]), int(c["uniques"])) for c in d["contributions"]
                ),
                mean_risk_contributions=tuple(
                    (str(c["field"]), float(c["mean_risk"])) for c in d["mean_risk_contributions"]
                ),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"a malformed risk report ({exc.__class__.__name__})") from None


@dataclass(frozen=True)
class RiskGate:
    """What publication hands on about the risk: the report, the gate's warnings and the
    protocol's action (``warn`` or ``refuse``). Travels in the manifest as JSON."""

    report: RiskReport
    warnings: tuple[str, ...]
    action: str

    def to_manifest(self) -> dict[str, Any]:
        return self.report.to_dict() | {"warnings": list(self.warnings), "action": self.action}

    @classmethod
    def from_manifest(cls, d: Any) -> RiskGate:
        """Read :meth:`to_manifest`'s form back; ValueError when it is not one."""
        if not isinstance(d, dict):
            raise ValueError("not a risk summary")
        rest = {k: v for k, v in d.items() if k not in ("warnings", "action")}
        warnings = d.get("warnings", [])
        if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
            raise ValueError("the risk warnings must be a list of texts")
        return cls(RiskReport.from_dict(rest), tuple(warnings), str(d.get("action", "")))


class RiskGateError(UserError):
    """The dataset breaches the protocol's re-identification risk thresholds.

    Raised by publication when ``risk.action`` is ``refuse``. The message lists the
    breached rules; each names the quasi-identifiers that drive it and the threshold.
    """

    def __init__(self, breaches: Sequence[str]) -> None:
        self.breaches = tuple(breaches)
        super().__init__(
            "The dataset fails the re-identification risk gate of the protocol: "
            + " ".join(self.breaches),
            hint=(
                "Coarsen or group the named quasi-identifiers before publishing (for "
                "example rare nationalities, or dates by quarter); the thresholds are in "
                "the [risk] section of the protocol file."
            ),
        )


def _key(df: pl.DataFrame, name: str, granularity: str) -> pl.Expr:
    """The column as it enters the risk measures: dates truncated to the granularity."""
    if name not in df.columns:
        raise UserError(
            f"The dataset has no column '{name}', which the protocol file names for the "
            "risk measures.",
            hint="Check that the dataset was produced under the same protocol file.",
        )
    col = pl.col(name)
    dtype = df.schema[name]
    if granularity != "day" and (dtype == pl.Date or isinstance(dtype, pl.Datetime)):
        return col.dt.truncate(_TRUNCATE[granularity])
    return col


def prepare(
    df: pl.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: Sequence[str],
    date_granularity: str,
) -> pl.DataFrame:
    """The quasi-identifier and sensitive columns as the measures see them.

    Dates are truncated to the granularity; nothing else changes, and nulls stay nulls
    (each is its own category when grouping). Useful to reproduce the measures with
    another tool.
    """
    names = list(dict.fromkeys([*quasi_identifiers, *sensitive]))
    if date_granularity not in ("day", *_TRUNCATE):
        raise ValueError(f"unknown date granularity {date_granularity!r}")
    return df.select([_key(df, n, date_granularity).alias(n) for n in names])


def _int(value: Any) -> int:
    """A polars scalar aggregate as an int (polars types it loosely)."""
    return int(value)


_KEY = "__pijler3_key"
_KEY_BITS = 64


def _key_and_masks(data: pl.DataFrame, qis: list[str]) -> tuple[pl.Series, list[int]] | None:
    """The quasi-identifiers packed into one 64-bit whole number, and per quasi-identifier
    the mask that clears its bits (leaving it out); None when they do not fit.

    Each column becomes a small code (equal values, equal codes; 0 for a missing value,
    which stays its own category): a text by its place among the column's distinct
    values, a date or number by its distance from the column's smallest, a boolean as
    0/1. Grouping on one integer is much cheaper than on seven columns of text, and a
    mask merges the classes that differ only in the field left out. Any other type, or
    codes wider than 64 bits together, returns None: the caller groups on the columns.
    """
    if not qis:
        return None
    numbers = [q for q in qis if data.schema[q].is_temporal() or data.schema[q].is_integer()]
    texts = [q for q in qis if data.schema[q] == pl.String]
    if any(q not in numbers and q not in texts and data.schema[q] != pl.Boolean for q in qis):
        return None
    # One pass: the distinct texts of each text column, the range of each number column.
    found = data.select(
        *[pl.col(q).drop_nulls().unique().implode().alias(f"{q} values") for q in texts],
        *[pl.col(q).to_physical().min().alias(f"{q} min") for q in numbers],
        *[pl.col(q).to_physical().max().alias(f"{q} max") for q in numbers],
    ).row(0, named=True)
    # Each code lies in 0..top (0 for a missing value), so it takes top.bit_length() bits.
    key: pl.Expr = pl.lit(0, pl.UInt64)
    masks: list[int] = []
    shift = 0
    full = (1 << _KEY_BITS) - 1
    for q in qis:
        col = pl.col(q)
        if q in texts:
            code = col.cast(pl.Enum(found[f"{q} values"])).to_physical()
            top = len(found[f"{q} values"])
        elif q in numbers:
            low, high = found[f"{q} min"], found[f"{q} max"]
            if low is not None and high - low >= 1 << (_KEY_BITS - 2):
                return None  # the distance itself would not fit
            code = col.to_physical() - (low or 0)
            top = 0 if low is None else high - low + 1
        else:
            code = col.cast(pl.UInt8)
            top = 2
        width = top.bit_length()
        if shift + width > _KEY_BITS:
            return None
        code = (code.cast(pl.UInt64) + 1).fill_null(0)
        key = key + code * pl.lit(1 << shift, pl.UInt64)
        masks.append(full & ~(((1 << width) - 1) << shift))
        shift += width
    return data.select(key.alias(_KEY)).to_series(), masks


def _merged(table: pl.LazyFrame, keys: list[str] | pl.Expr) -> pl.LazyFrame:
    """Class count and sample uniques when the class table is grouped on fewer keys."""
    if isinstance(keys, list) and not keys:
        merged = table.select(pl.col(_COUNT).sum())
    else:
        merged = table.group_by(keys).agg(pl.col(_COUNT).sum())
    return merged.select(pl.len().alias("classes"), (pl.col(_COUNT) == 1).sum().alias("uniques"))


def measure(
    df: pl.DataFrame,
    rules: protocol.Risk,
    quasi_identifiers: Sequence[str],
    sensitive: Sequence[str],
) -> RiskReport:
    """Measure the re-identification risk of ``df`` on the named fields.

    ``quasi_identifiers`` and ``sensitive`` are normally ``protocol.quasi_identifiers``
    and ``protocol.sensitive_fields``; ``rules`` gives the date granularity and
    ``k_report``. Pure: no file, clock or randomness.
    """
    qis = list(dict.fromkeys(quasi_identifiers))
    sas = list(dict.fromkeys(sensitive))
    data = prepare(df, qis, sas, rules.date_granularity)
    n = data.height

    # One grouping gives the classes with their sizes and the distinct values of every
    # sensitive field; with no quasi-identifier the whole dataset is one class.
    aggs = [pl.len().alias(_COUNT), *[pl.col(s).n_unique().alias(s) for s in sas]]
    # Leaving one quasi-identifier out merges classes; grouping the class table (not the
    # records) again on the other keys is cheap, because it has at most one row per
    # record. All of them run in one parallel collect.
    leave_one_out: list[pl.LazyFrame] = []
    if n == 0:
        classes = data.head(0).select(qis).with_columns(pl.lit(0, pl.UInt32).alias(_COUNT))
        l_div = {s: 0 for s in sas}
        table = classes.lazy()
        leave_one_out = [_merged(table, [x for x in qis if x != q]) for q in qis]
    else:
        packed = _key_and_masks(data, qis)
        if packed is not None:
            key, masks = packed
            classes = key.to_frame().hstack(data.select(sas).get_columns()).group_by(_KEY).agg(aggs)
            table = classes.lazy().select(_KEY, _COUNT)
            leave_one_out = [_merged(table, pl.col(_KEY) & pl.lit(m, pl.UInt64)) for m in masks]
        else:
            classes = data.group_by(qis).agg(aggs) if qis else data.select(aggs)
            table = classes.lazy().select([*qis, _COUNT])
            leave_one_out = [_merged(table, [x for x in qis if x != q]) for q in qis]
        l_div = {s: _int(classes[s].min()) for s in sas}
    sizes = classes[_COUNT]
    n_classes = classes.height
    k = _int(sizes.min()) if n else 0
    uniques = int((sizes == 1).sum())
    small = sizes < rules.k_report
    mean_risk = n_classes / n if n else 0.0

    contrib: list[tuple[str, int]] = []
    risk_drop: list[tuple[str, float]] = []
    for q, merged in zip(qis, pl.collect_all(leave_one_out), strict=True):
        c, u = (_int(x) for x in merged.row(0))
        contrib.append((q, uniques - u))
        risk_drop.append((q, (n_classes - c) / n if n else 0.0))
    # Stable sorts keep the protocol's field order among equal contributions.
    contrib.sort(key=lambda t: -t[1])
    risk_drop.sort(key=lambda t: -t[1])

    return RiskReport(
        quasi_identifiers=tuple(qis),
        sensitive=tuple(sas),
        date_granularity=rules.date_granularity,
        records=n,
        k=k,
        classes=n_classes,
        sample_uniques=uniques,
        sample_unique_share=uniques / n if n else 0.0,
        mean_risk=mean_risk,
        max_risk=1.0 / k if k else 0.0,
        k_report=rules.k_report,
        records_below_k_report=int(sizes.filter(small).sum()),
        classes_below_k_report=int(small.sum()),
        l_diversity=l_div,
        contributions=tuple(contrib),
        mean_risk_contributions=tuple(risk_drop),
    )


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


_BY_UNIQUES = "{:,} uniques disappear without it"
_BY_MEAN_RISK = "mean risk falls by {:.3f} without it"


def _drivers(report: RiskReport, contributions: Sequence[tuple[str, float]], effect: str) -> str:
    """The top quasi-identifiers by contribution; ``effect`` formats one as text."""
    named = [(f, x) for f, x in contributions if x > 0][:_DRIVERS]
    if not named:
        return (
            "no single quasi-identifier drives it; it comes from the combination of "
            + ", ".join(report.quasi_identifiers)
        )
    return "driven by " + ", ".join(f"{f} ({effect.format(x)})" for f, x in named)


def gate(report: RiskReport, rules: protocol.Risk) -> list[str]:
    """The protocol's risk rules that ``report`` breaches, as plain English lines.

    Each line gives the measured value, the threshold with its protocol key, and the
    quasi-identifiers that drive the risk. An empty list means the dataset passes.
    """
    breaches: list[str] = []
    if report.sample_unique_share > rules.max_sample_unique_share:
        breaches.append(
            f"{report.sample_uniques:,} of {report.records:,} records "
            f"({_pct(report.sample_unique_share)}) are unique on the quasi-identifiers "
            f"at date granularity '{report.date_granularity}', above the maximum of "
            f"{_pct(rules.max_sample_unique_share)} (risk.max_sample_unique_share); "
            f"{_drivers(report, report.contributions, _BY_UNIQUES)}."
        )
    if report.mean_risk > rules.max_mean_risk:
        breaches.append(
            f"The mean re-identification risk is {report.mean_risk:.3f}, above the "
            f"maximum of {rules.max_mean_risk:.3f} (risk.max_mean_risk); "
            f"{_drivers(report, report.mean_risk_contributions, _BY_MEAN_RISK)}."
        )
    return breaches


def enforce(report: RiskReport, rules: protocol.Risk) -> list[str]:
    """Apply the gate as the protocol says: raise on ``refuse``, return warnings on ``warn``.

    Returns the breaches to record as warnings (empty when the dataset passes); raises
    :class:`RiskGateError` when there are breaches and ``risk.action`` is ``refuse``.
    """
    breaches = gate(report, rules)
    if breaches and rules.action == "refuse":
        raise RiskGateError(breaches)
    return breaches

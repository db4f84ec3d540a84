"""The protocol file: a TOML file loaded into frozen, typed objects.

The software enforces what this file says: the fields of art. 3, the parties and
recipients (art. 4), the term and notice (art. 5, 12), retention (art. 3, 6), processors
(art. 6), the disclosure-control and risk thresholds, and the header labels of the
incoming extracts. A malformed or incomplete file is refused with a message naming the
key at fault.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pijler3.contract.dates import add_years
from pijler3.contract.errors import ProtocolError
from pijler3.contract.protocol_reader import Reader as _Reader
from pijler3.contract.protocol_reader import read_date as _date

FORMAT = "pijler3-protocol/1"
DEFAULT_PROTOCOL = "protocol-2023-09-20.toml"

FieldType = Literal["text", "date", "bool", "code"]
ColumnType = Literal["text", "date", "bool", "code", "insz"]
Source = Literal["KBI", "VDAB", "DERIVED"]
ROLES = ("agii", "vdab", "abb")


@dataclass(frozen=True)
class Party:
    id: str
    name: str
    short: str
    role: str
    address: str
    enterprise_number: str
    representative: str
    dpo_name: str
    dpo_email: str
    dpo_phone: str
    age_recipient: str
    signing_key: str


@dataclass(frozen=True)
class Recipient:
    """A named researcher of art. 4, with the public keys set up for them."""

    name: str
    age_recipient: str
    signing_key: str


@dataclass(frozen=True)
class Processor:
    party: str
    name: str
    service: str
    since: dt.date | None


@dataclass(frozen=True)
class Field:
    """One field of art. 3, i.e. one column of the monitoring dataset (DATA.md §3)."""

    name: str
    type: FieldType
    source: Source
    description: str
    codelist: str | None = None
    quasi_identifier: bool = False
    sensitive: bool = False
    free_text: bool = False


@dataclass(frozen=True)
class Column:
    """One column of an incoming extract: canonical name, type and accepted header labels."""

    name: str
    type: ColumnType
    labels: tuple[str, ...]
    codelist: str | None = None
    required: bool = True


@dataclass(frozen=True)
class Extract:
    name: str
    title: str
    columns: tuple[Column, ...]
    direct_identifiers: tuple[str, ...]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class Step:
    sender: str
    to: str


@dataclass(frozen=True)
class Disclosure:
    min_numerator: int
    min_denominator: int
    km_min_at_risk: int


@dataclass(frozen=True)
class Risk:
    action: Literal["refuse", "warn"]
    date_granularity: Literal["day", "month", "quarter", "year"]
    max_sample_unique_share: float
    max_mean_risk: float
    k_report: int


@dataclass(frozen=True)
class FreeText:
    """How free text (``plo_reden``) is cleaned before it leaves AgII (DATA.md §3).

    ``min_persons``: a word travels only when the texts of at least this many different
    persons of the delivery hold it (and it holds no digit); any other word is removed.
    """

    min_persons: int = 10


@dataclass(frozen=True)
class Limits:
    """Upper bounds checked before a file is read (``[limits]`` of the protocol file).

    A file from outside (a package, an extract) is measured before a byte of it is read,
    so a sparse 1 GiB file or a manifest of nested objects is refused, not processed.
    """

    package_bytes: int = 1024 << 20  # a whole package file (its payload is decrypted in memory)
    manifest_bytes: int = 1 << 20  # the signed manifest: counts and summaries only
    extract_bytes: int = 512 << 20  # one incoming CSV or XLSX extract
    json_depth: int = 32  # nesting of objects and arrays in a manifest or signed document
    field_bytes: int = 128 << 10  # one cell of a CSV extract


# Protocol files written before ``[limits]`` existed get these.
DEFAULT_LIMITS = Limits()
_LIMIT_KEYS = {
    "package_mib": ("package_bytes", 1 << 20),
    "manifest_kib": ("manifest_bytes", 1 << 10),
    "extract_mib": ("extract_bytes", 1 << 20),
    "json_depth": ("json_depth", 1),
    "field_kib": ("field_bytes", 1 << 10),
}


@dataclass(frozen=True)
class Protocol:
    id: str
    version: int
    title: str
    subject: str
    legal_framework: str
    signed: dt.date
    term_years: int
    notice_months: int
    retention_years: int
    frequency: str
    place: str
    legal_bases: tuple[str, ...]
    purposes: tuple[str, ...]
    original_purposes: tuple[str, ...]
    use_restriction: str
    special_categories: bool
    parties: Mapping[str, Party]
    recipients_max: int
    recipients_party: str
    recipients_category: str
    recipients: tuple[Recipient, ...]
    processors: tuple[Processor, ...]
    steps: Mapping[str, Step]
    pseudonym_bits: int
    disclosure: Disclosure
    risk: Risk
    free_text: FreeText
    fields: tuple[Field, ...]
    extracts: Mapping[str, Extract]
    source_path: str
    # The signed text (art. 10): a Markdown file beside the protocol file, pinned by its
    # SHA-256 so that installing the protocol file also fixes the text published under it.
    signed_text: str = ""
    signed_text_sha256: str = ""
    limits: Limits = DEFAULT_LIMITS

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def quasi_identifiers(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.quasi_identifier)

    @property
    def sensitive_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.sensitive)

    @property
    def term_end(self) -> dt.date:
        """The last day of the protocol's term (art. 5: 5 years from signature)."""
        return add_years(self.signed, self.term_years) - dt.timedelta(days=1)

    @property
    def identifier(self) -> str:
        return f"{self.id} v{self.version}"


_TOP_LEVEL = frozenset(
    {"format", "protocol", "legal", "parties", "recipients", "processors", "steps",
     "pseudonym", "disclosure", "risk", "free_text", "fields", "extracts", "limits"}
)  # fmt: skip


def _parse(data: Mapping[str, Any], source: str) -> Protocol:
    r = _Reader(source)
    unknown = sorted(set(data) - _TOP_LEVEL)
    if unknown:
        raise r.fail(unknown[0], "is not a key of a protocol file (a typo, or a misplaced line?)")
    fmt = r.text(data, "format", "")
    if fmt != FORMAT:
        raise r.fail("format", f"must be '{FORMAT}' (this version of pijler3 reads that format)")
    p = r.table(data, "protocol", "")
    r.only(p, "protocol", _PROTOCOL_KEYS)
    legal = r.table(data, "legal", "")
    r.only(
        legal,
        "legal",
        ("bases", "purposes", "original_purposes", "use_restriction", "special_categories"),
    )
    parties = _parties(r, data)
    rec_t = r.table(data, "recipients", "")
    recipients_max, recipients = _recipients(r, rec_t)
    processors = _processors(r, data)
    steps = _steps(r, data)
    bits = _pseudonym_bits(r, data)
    disclosure = _disclosure(r, data)
    risk = _risk(r, data)
    free_text = _free_text(r, data)
    fields = _fields(r, data)
    extracts = _extracts(r, data)
    signed = _date(r, p, "signed", "protocol")
    signed_text, signed_text_sha256 = _signed_text(r, p)
    return Protocol(
        id=r.text(p, "id", "protocol"),
        version=r.positive(p, "version", "protocol"),
        title=r.text(p, "title", "protocol"),
        subject=r.text(p, "subject", "protocol"),
        legal_framework=r.text(p, "legal_framework", "protocol"),
        signed=signed,
        term_years=r.positive(p, "term_years", "protocol"),
        notice_months=r.positive(p, "notice_months", "protocol"),
        retention_years=r.positive(p, "retention_years", "protocol"),
        frequency=r.text(p, "frequency", "protocol"),
        place=r.text(p, "place", "protocol"),
        legal_bases=r.texts(legal, "bases", "legal"),
        purposes=r.texts(legal, "purposes", "legal"),
        original_purposes=r.texts(legal, "original_purposes", "legal"),
        use_restriction=r.text(legal, "use_restriction", "legal"),
        special_categories=r.get(legal, "special_categories", "legal", bool),
        parties=parties,
        recipients_max=recipients_max,
        recipients_party=r.choice(rec_t, "party", "recipients", ROLES),
        recipients_category=r.text(rec_t, "category", "recipients"),
        recipients=recipients,
        processors=processors,
        steps=steps,
        pseudonym_bits=bits,
        disclosure=disclosure,
        risk=risk,
        free_text=free_text,
        fields=fields,
        extracts=extracts,
        source_path=source,
        signed_text=signed_text,
        signed_text_sha256=signed_text_sha256,
        limits=_limits(r, data),
    )


_PROTOCOL_KEYS = (
    "id", "version", "title", "subject", "legal_framework", "signed", "term_years",
    "notice_months", "retention_years", "frequency", "place", "signed_text",
    "signed_text_sha256",
)  # fmt: skip


def _parties(r: _Reader, data: Mapping[str, Any]) -> dict[str, Party]:
    parties_t = r.table(data, "parties", "")
    parties: dict[str, Party] = {}
    for role in ROLES:
        t = r.table(parties_t, role, "parties")
        path = f"parties.{role}"
        r.only(t, path, tuple(f.name for f in dataclass_fields(Party) if f.name != "id"))
        parties[role] = Party(
            id=role,
            name=r.text(t, "name", path),
            short=r.text(t, "short", path),
            role=r.text(t, "role", path),
            address=r.text(t, "address", path, empty=True),
            enterprise_number=r.text(t, "enterprise_number", path, empty=True),
            representative=r.text(t, "representative", path, empty=True),
            dpo_name=r.text(t, "dpo_name", path, empty=True),
            dpo_email=r.text(t, "dpo_email", path, empty=True),
            dpo_phone=r.text(t, "dpo_phone", path, empty=True),
            age_recipient=r.text(t, "age_recipient", path, empty=True),
            signing_key=r.text(t, "signing_key", path, empty=True),
        )
    unknown_roles = set(parties_t) - set(ROLES)
    if unknown_roles:
        raise r.fail(f"parties.{sorted(unknown_roles)[0]}", "is not a party of this protocol")
    return parties


def _recipients(r: _Reader, rec_t: Mapping[str, Any]) -> tuple[int, tuple[Recipient, ...]]:
    """The maximum number of researchers (art. 4) and the researchers named."""
    r.only(rec_t, "recipients", ("max", "party", "category", "people"))
    people = r.get(rec_t, "people", "recipients", list)
    recipients = []
    for i, person in enumerate(people):
        path = f"recipients.people[{i}]"
        if not isinstance(person, dict):
            raise r.fail(path, "must be a table")
        recipients.append(
            Recipient(
                name=r.text(person, "name", path),
                age_recipient=r.text(person, "age_recipient", path),
                signing_key=r.text(person, "signing_key", path),
            )
        )
    recipients_max = r.positive(rec_t, "max", "recipients")
    if len(recipients) > recipients_max:
        raise r.fail(
            "recipients.people",
            f"lists {len(recipients)} people, more than the {recipients_max} of art. 4",
        )
    if len({x.age_recipient for x in recipients}) != len(recipients):
        raise r.fail("recipients.people", "lists the same key twice")
    return recipients_max, tuple(recipients)


def _processors(r: _Reader, data: Mapping[str, Any]) -> tuple[Processor, ...]:
    processors = []
    for i, proc in enumerate(r.get(data, "processors", "", list, [])):
        path = f"processors[{i}]"
        if not isinstance(proc, dict):
            raise r.fail(path, "must be a table")
        r.only(proc, path, ("party", "name", "service", "since"))
        since = proc.get("since")
        processors.append(
            Processor(
                party=r.choice(proc, "party", path, ROLES),
                name=r.text(proc, "name", path),
                service=r.text(proc, "service", path),
                since=_date(r, proc, "since", path) if since is not None else None,
            )
        )
    return tuple(processors)


def _steps(r: _Reader, data: Mapping[str, Any]) -> dict[str, Step]:
    steps_t = r.table(data, "steps", "")
    r.only(steps_t, "steps", ("export", "link", "publish", "share"))
    steps = {}
    for name in ("export", "link", "publish", "share"):
        t = r.table(steps_t, name, "steps")
        steps[name] = Step(
            sender=r.choice(t, "sender", f"steps.{name}", ROLES),
            to=r.choice(t, "to", f"steps.{name}", (*ROLES, "recipients", "named")),
        )
    return steps


def _pseudonym_bits(r: _Reader, data: Mapping[str, Any]) -> int:
    pseud = r.table(data, "pseudonym", "")
    r.only(pseud, "pseudonym", ("bits",))
    bits = r.positive(pseud, "bits", "pseudonym")
    if bits < 128 or bits > 256 or bits % 8:
        raise r.fail("pseudonym.bits", "must be a multiple of 8 from 128 to 256")
    return bits


def _disclosure(r: _Reader, data: Mapping[str, Any]) -> Disclosure:
    d = r.table(data, "disclosure", "")
    r.only(d, "disclosure", ("min_numerator", "min_denominator", "km_min_at_risk"))
    return Disclosure(
        min_numerator=r.positive(d, "min_numerator", "disclosure"),
        min_denominator=r.positive(d, "min_denominator", "disclosure"),
        km_min_at_risk=r.positive(d, "km_min_at_risk", "disclosure"),
    )


def _risk(r: _Reader, data: Mapping[str, Any]) -> Risk:
    rk = r.table(data, "risk", "")
    r.only(rk, "risk", tuple(f.name for f in dataclass_fields(Risk)))
    share = r.get(rk, "max_sample_unique_share", "risk", (int, float))
    mean = r.get(rk, "max_mean_risk", "risk", (int, float))
    for key, v in (("max_sample_unique_share", share), ("max_mean_risk", mean)):
        if not 0 <= v <= 1:
            raise r.fail(f"risk.{key}", "must be a share between 0 and 1")
    return Risk(
        action=r.choice(rk, "action", "risk", ("refuse", "warn")),
        date_granularity=r.choice(
            rk, "date_granularity", "risk", ("day", "month", "quarter", "year")
        ),
        max_sample_unique_share=float(share),
        max_mean_risk=float(mean),
        k_report=r.positive(rk, "k_report", "risk"),
    )


def _free_text(r: _Reader, data: Mapping[str, Any]) -> FreeText:
    # The table is optional, so that protocol files written before it keep loading; a
    # missing key takes the default of FreeText.
    ft = r.table(data, "free_text", "") if "free_text" in data else {}
    r.only(ft, "free_text", tuple(f.name for f in dataclass_fields(FreeText)))
    free_text = FreeText(
        min_persons=r.positive(ft, "min_persons", "free_text")
        if "min_persons" in ft
        else FreeText.min_persons
    )
    return free_text


def _fields(r: _Reader, data: Mapping[str, Any]) -> tuple[Field, ...]:
    fields = []
    seen: set[str] = set()
    for i, f in enumerate(r.get(data, "fields", "", list)):
        path = f"fields[{i}]"
        if not isinstance(f, dict):
            raise r.fail(path, "must be a table")
        r.only(f, path, tuple(x.name for x in dataclass_fields(Field)))
        name = r.text(f, "name", path)
        if name in seen:
            raise r.fail(f"{path}.name", f"repeats the field '{name}'")
        seen.add(name)
        ftype = r.choice(f, "type", path, ("text", "date", "bool", "code"))
        codelist = r.get(f, "codelist", path, str, None)
        if ftype == "code" and not codelist:
            raise r.fail(f"{path}.codelist", "is missing (a field of type code needs one)")
        fields.append(
            Field(
                name=name,
                type=ftype,
                source=r.choice(f, "source", path, ("KBI", "VDAB", "DERIVED")),
                description=r.text(f, "description", path),
                codelist=codelist,
                quasi_identifier=r.get(f, "quasi_identifier", path, bool, False),
                sensitive=r.get(f, "sensitive", path, bool, False),
                free_text=r.get(f, "free_text", path, bool, False),
            )
        )
    if not fields:
        raise r.fail("fields", "must list the fields of art. 3")
    return tuple(fields)


def _extracts(r: _Reader, data: Mapping[str, Any]) -> dict[str, Extract]:
    ex_t = r.table(data, "extracts", "")
    extracts = {}
    for name in ("kbi", "werkzoekenden", "acties"):
        t = r.table(ex_t, name, "extracts")
        path = f"extracts.{name}"
        r.only(t, path, ("title", "direct_identifiers", "columns"))
        cols_t = r.table(t, "columns", path)
        cols = tuple(_column(r, cname, spec, path) for cname, spec in cols_t.items())
        if not any(c.type == "insz" for c in cols):
            raise r.fail(f"{path}.columns", "must have a column of type insz")
        extracts[name] = Extract(
            name=name,
            title=r.text(t, "title", path),
            columns=cols,
            direct_identifiers=r.texts(t, "direct_identifiers", path),
        )
    return extracts


def _column(r: _Reader, cname: str, spec: Any, path: str) -> Column:
    cpath = f"{path}.columns.{cname}"
    if not isinstance(spec, dict):
        raise r.fail(cpath, "must be a table")
    r.only(spec, cpath, ("type", "codelist", "labels", "required"))
    ctype = r.choice(spec, "type", cpath, ("text", "date", "bool", "code", "insz"))
    ccode = r.get(spec, "codelist", cpath, str, None)
    if ctype == "code" and not ccode:
        raise r.fail(f"{cpath}.codelist", "is missing (a column of type code needs one)")
    labels = r.texts(spec, "labels", cpath)
    if not labels:
        raise r.fail(f"{cpath}.labels", "must name at least one header label")
    return Column(
        name=cname,
        type=ctype,
        labels=labels,
        codelist=ccode,
        required=r.get(spec, "required", cpath, bool, True),
    )


def _limits(r: _Reader, data: Mapping[str, Any]) -> Limits:
    """``[limits]``, optional: a missing table or key keeps the default bound."""
    if "limits" not in data:
        return DEFAULT_LIMITS
    t = r.table(data, "limits", "")
    r.only(t, "limits", tuple(_LIMIT_KEYS))
    values: dict[str, int] = {}
    for key, (attr, unit) in _LIMIT_KEYS.items():
        if key in t:
            values[attr] = r.positive(t, key, "limits") * unit
    return Limits(**values)


def _signed_text(r: _Reader, p: Mapping[str, Any]) -> tuple[str, str]:
    """The file name of the signed text and its pinned SHA-256 (both empty when unnamed).

    The name is a bare Markdown file name, so that the text always lies beside the
    protocol file, travels with it into a workspace, and can never be taken for one of
    the workspace's own files (its protocol.toml or audit log).
    """
    name = r.text(p, "signed_text", "protocol", empty=True)
    digest = r.text(p, "signed_text_sha256", "protocol", empty=True)
    if name and not re.fullmatch(r"[\w.-]+\.md", name, re.ASCII):
        raise r.fail(
            "protocol.signed_text", "must be a Markdown file name (….md) beside the protocol file"
        )
    if name and not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise r.fail(
            "protocol.signed_text_sha256",
            "must be the SHA-256 of the signed text (64 lowercase hexadecimal digits)",
        )
    if digest and not name:
        raise r.fail("protocol.signed_text", "is missing (signed_text_sha256 pins no file)")
    return name, digest


def loads(text: str, source: str = "<protocol>") -> Protocol:
    """Parse a protocol from TOML text; ``source`` names it in error messages."""
    return _loads(text, source)


# Every step loads the workspace's protocol file, often several times; parsing the same
# text again gives the same frozen object, so a parse is kept (a refusal is not cached).
@functools.lru_cache(maxsize=32)
def _loads(text: str, source: str) -> Protocol:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(
            f"{source}: not valid TOML ({exc}).", hint="Correct the file's syntax."
        ) from None
    return _parse(data, source)


def load(path: str | Path | None = None) -> Protocol:
    """Load a protocol file, or the shipped protocol of 20/09/2023 when ``path`` is None."""
    if path is None:
        text = resources.files("pijler3").joinpath("data", DEFAULT_PROTOCOL).read_text("utf-8")
        return loads(text, DEFAULT_PROTOCOL)
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError:
        raise ProtocolError(f"{p}: protocol file not found.") from None
    except UnicodeDecodeError:
        raise ProtocolError(f"{p}: protocol file is not UTF-8 text.") from None
    return loads(text, str(p))


def default_text() -> str:
    """The TOML text of the shipped protocol, for copying into a workspace."""
    return resources.files("pijler3").joinpath("data", DEFAULT_PROTOCOL).read_text("utf-8")

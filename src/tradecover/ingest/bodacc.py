"""BODACC collective-procedure notices (procédures collectives) as plain records.

Why: a buyer's insolvency is the event that turns an overdue into a claim and
freezes every credit limit on it. BODACC (Bulletin officiel des annonces
civiles et commerciales) is where French courts' insolvency judgments are
published, in three shapes this module reads:

* OpenDataSoft records of the ``annonces-commerciales`` dataset (API v1
  ``{"records": [{"fields": …}]}``, v2.0 ``{"records": [{"record": …}]}``,
  v2.1 ``{"results": […]}``, an export array, or one record), where
  ``jugement``, ``listepersonnes`` and ``depot`` are JSON encoded *inside*
  strings and ``registre`` carries the SIREN twice, spelled two ways;
* the DILA XML flux (``PCL_REDIFF``, often shipped as a ``.taz`` tar holding
  one XML; also the RCS-A/RCS-B/BILAN flux, whose notices are skipped unless
  they carry a judgment);
* the ``RCS,DATE,EFFECTIFS,NATURE`` CSV derived from PCL files.

Every notice of the collective family becomes a :class:`BodaccAnnouncement`
whose :class:`ProcedureKind` is read from the judgment's wording, accent- and
case-insensitively. Notices of other families are counted, not returned.

Safe on hostile input: size limits before reading, XML through defusedxml with
any DTD refused (no entity expansion, no external fetch), tar archives read in
memory from their one regular member, never extracted. A malformed record
raises :class:`InvalidInput` naming the file, the record and the field: the
caller applies a file in one transaction, so a malformed file is refused whole
rather than half-applied.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import re
import tarfile
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse as defused_iterparse

from tradecover.domain.errors import InvalidInput
from tradecover.domain.identifiers import IdentifierKind, parse_identifier

__all__ = [
    "MAX_ARCHIVE_MEMBERS",
    "MAX_BODACC_BYTES",
    "MAX_ID_CHARS",
    "BodaccAnnouncement",
    "BodaccParseResult",
    "ProcedureKind",
    "classify_judgment",
    "normalise_siren",
    "parse_bodacc",
    "parse_bodacc_json",
    "parse_bodacc_xml",
    "parse_pcl_plans_csv",
]

#: Largest file (or archive member) read. A daily PCL file is a few MB and a
#: yearly OpenDataSoft export of the collective family some tens of MB.
MAX_BODACC_BYTES = 200_000_000

#: Longest notice id accepted (real ones are ~13 characters: ``C202200902528``).
MAX_ID_CHARS = 64

#: Persons named in one notice (a group's extension names a few dozen at most).
MAX_PERSONS = 1_000

#: Members looked at in a tar archive before giving up: a DILA ``.taz`` holds one.
MAX_ARCHIVE_MEMBERS = 64


class ProcedureKind(StrEnum):
    """What a collective-procedure notice says about the debtor's solvency."""

    SAFEGUARD = "safeguard"
    """Opening of a sauvegarde (incl. accélérée, financière accélérée)."""
    RECEIVERSHIP = "receivership"
    """Opening (or extension) of a redressement judiciaire."""
    LIQUIDATION = "liquidation"
    """Opening (or extension, reprise) of a liquidation judiciaire, incl. simplifiée."""
    CONVERSION = "conversion"
    """A running procedure converted into redressement or liquidation (see ``target``)."""
    PLAN = "plan"
    """A plan de sauvegarde / de redressement / de cession adopted or modified."""
    CLOSURE = "closure"
    """Clôture pour insuffisance d'actif, pour extinction du passif…"""
    OTHER = "other"
    """A notice of the family that says nothing about solvency (claims lists, bans…)."""


_OPENINGS = frozenset({ProcedureKind.SAFEGUARD, ProcedureKind.RECEIVERSHIP, ProcedureKind.LIQUIDATION})


@dataclass(frozen=True)
class BodaccAnnouncement:
    """One collective-procedure notice about one or more companies.

    ``sirens`` holds the canonical, Luhn-valid SIRENs the notice names (in
    order of appearance, deduplicated); numbers that could not be read as a
    SIREN are kept verbatim in ``invalid_identifiers`` so that nothing is lost
    silently. ``family`` and ``nature`` are the judgment's own wording
    (``jugement.famille``/``nature``; empty when the notice has none).
    ``target`` is the procedure the notice concerns: the one opened, the one a
    conversion leads to, the one a plan belongs to, the one closed — None
    when the text does not say.
    """

    source: str
    record: int
    announcement_id: str
    sirens: tuple[str, ...]
    publication_date: date
    judgment_date: date | None
    kind: ProcedureKind
    nature: str
    tribunal: str | None
    company_name: str | None
    notice_type: str
    family: str
    target: ProcedureKind | None = None
    complement: str = ""
    invalid_identifiers: tuple[str, ...] = ()

    @property
    def opens_insolvency(self) -> bool:
        """True for an opening judgment or a conversion, i.e. the debtor is now insolvent.

        An ``annulation`` notice withdraws an earlier notice: it opens nothing.
        """
        if self.notice_type == "annulation":
            return False
        return self.kind in _OPENINGS or self.kind is ProcedureKind.CONVERSION

    @property
    def resulting_status(self) -> str | None:
        """The debtor's procedure after this judgment, or None if it does not change it.

        ``safeguard`` | ``receivership`` | ``liquidation`` | ``ceased`` (closure).
        A conversion results in its target; a plan keeps the debtor in the
        procedure it belongs to (None when the notice does not say which).
        """
        if self.notice_type == "annulation":
            return None
        if self.kind in _OPENINGS:
            return self.kind.value
        if self.kind is ProcedureKind.CLOSURE:
            return "ceased"
        if self.kind in (ProcedureKind.CONVERSION, ProcedureKind.PLAN) and self.target is not None:
            return self.target.value if self.target in _OPENINGS else None
        return None


@dataclass(frozen=True)
class BodaccParseResult:
    """The collective notices of a file, and how many other notices were skipped."""

    announcements: list[BodaccAnnouncement]
    skipped: int


# --------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    """Lower case, no accents, one space, straight apostrophes: wording varies by greffe."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = bare.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    return " ".join(bare.casefold().split())


_NOTHING_ABOUT_SOLVENCY = (
    # sanctions against managers
    "faillite personnelle",
    "interdiction de gerer",
    "interdiction prevue",
    "interdiction de diriger",
    # lists of claims and distributions
    "etat des creances",
    "releve des creances",
    "liste des creances",
    "projet de repartition",
    # appeal decisions and judgments that undo or end without a new status
    "infirm",
    "retract",
    "rapportant",
    "annulant",
    "mettant fin",
    "execution du plan",
)
_PLAN_ACTIONS = ("arret", "modifi", "adopt", "homolog", "prolong")
_OPENING = re.compile(
    r"ouverture|ouvrant|retablissement professionnel|reprise de la (?:procedure|liquidation)"
    r"|prononcant (?:la |le |l')?(?:ouverture|liquidation|redressement|sauvegarde)"
    r"|extension (?:d'une |de la |de |du )?(?:procedure (?:de )?)?(?:liquidation|redressement|sauvegarde)"
)
_CONVERSION_TARGET = re.compile(r"\ben (?:une )?(?:procedure (?:de )?)?(liquidation|redressement)")
_PLAN_NAME = re.compile(r"plan de (?:sauvegarde|redressement|cession|continuation)(?: judiciaire)?")
_GENERIC_NATURES = frozenset({"", "jugement", "extrait de jugement", "autre jugement", "jugement d'ouverture", "avis"})


def _procedure_named(text: str) -> ProcedureKind | None:
    """The procedure a folded text names, the gravest first."""
    if "liquidation" in text or "retablissement professionnel" in text:
        return ProcedureKind.LIQUIDATION
    if "redressement" in text:
        return ProcedureKind.RECEIVERSHIP
    if "sauvegarde" in text:
        return ProcedureKind.SAFEGUARD
    return None


@functools.lru_cache(maxsize=4096)
def _rule(text: str) -> tuple[ProcedureKind, ProcedureKind | None] | None:
    """Classify one folded text, or None when it does not say enough."""
    if not text:
        return None
    if any(marker in text for marker in _NOTHING_ABOUT_SOLVENCY):
        return ProcedureKind.OTHER, None
    if "cloture" in text:
        return ProcedureKind.CLOSURE, _procedure_named(text)
    if "conversion" in text or "convertissant" in text:
        match = _CONVERSION_TARGET.search(text)
        if match is not None:
            target = "liquidation" if match.group(1) == "liquidation" else "redressement"
            return ProcedureKind.CONVERSION, _procedure_named(target)
        # No "en …": the procedure named may be the converted one, so only
        # liquidation (never converted away from) is a safe reading.
        return ProcedureKind.CONVERSION, ProcedureKind.LIQUIDATION if "liquidation" in text else None
    if "resolution du plan" in text:
        # "résolution du plan de redressement et ouverture de liquidation": the
        # new procedure is the one named outside the plan's own name.
        new = _procedure_named(_PLAN_NAME.sub(" ", text))
        return (new, new) if new is not None else (ProcedureKind.OTHER, None)
    if re.search(r"\bplan\b", text) and any(action in text for action in _PLAN_ACTIONS):
        if "plan de sauvegarde" in text:
            return ProcedureKind.PLAN, ProcedureKind.SAFEGUARD
        if "plan de redressement" in text:
            return ProcedureKind.PLAN, ProcedureKind.RECEIVERSHIP
        return ProcedureKind.PLAN, _procedure_named(text)
    if _OPENING.search(text):
        opened = _procedure_named(text)
        if opened is not None:
            return opened, opened
    return None


def classify_judgment(family: str, nature: str, complement: str = "") -> tuple[ProcedureKind, ProcedureKind | None]:
    """Read a judgment's kind and target from its ``famille``/``nature``/complement.

    The nature is the most precise wording, so it decides first; then family
    and nature together; the free-text complement (which often quotes other
    procedures: "dans la procédure de liquidation ouverte le…") is only
    consulted when the nature is generic ("Jugement", "Jugement d'ouverture").
    """
    folded_nature = _fold(nature)
    for text in (folded_nature, _fold(f"{family} {nature}")):
        hit = _rule(text)
        if hit is not None:
            return hit
    if folded_nature in _GENERIC_NATURES or folded_nature == _fold(family):
        hit = _rule(_fold(f"{family} {nature} {complement}"))
        if hit is not None:
            return hit
    return ProcedureKind.OTHER, None


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------

_SIREN_NOISE = re.compile(r"[\s.\-\u00a0\u202f]")


def normalise_siren(raw: str) -> str | None:
    """The canonical SIREN a BODACC spelling stands for, or None if it is not one.

    Spaces, dots and dashes are dropped (``880 878 145``); a number that lost
    its leading zeros on the way through a spreadsheet (``94130994``) is
    left-padded to 9 digits; the result must pass the Luhn check. At least 5
    significant digits are required so that noise ("0", "12") is not padded
    into a number.
    """
    compact = _SIREN_NOISE.sub("", raw)
    if not (compact.isascii() and compact.isdigit()) or not 5 <= len(compact) <= 9:
        return None
    candidate = compact.zfill(9)
    if candidate == "000000000":
        return None
    try:
        return parse_identifier(IdentifierKind.SIREN, candidate).value
    except InvalidInput:
        return None


def _split_identifiers(raws: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Valid canonical SIRENs and invalid raw spellings, each deduplicated in order."""
    valid: dict[str, None] = {}
    invalid: dict[str, None] = {}
    for raw in raws:
        text = raw.strip()
        if not text:
            continue
        siren = normalise_siren(text)
        if siren is None:
            invalid[text] = None
        else:
            valid[siren] = None
    return tuple(valid), tuple(invalid)


def _error(name: str, record: int, field: str, problem: str) -> InvalidInput:
    return InvalidInput(
        f"{name}, record {record}, field {field}: {problem}",
        code="ingest.bad_field",
        field=field,
        context={"file": name, "record": record},
    )


def _file_error(name: str, problem: str, code: str, **context: Any) -> InvalidInput:
    return InvalidInput(f"{name}: {problem}", code=code, context={"file": name, **context})


def _too_large(name: str) -> InvalidInput:
    return _file_error(name, f"larger than {MAX_BODACC_BYTES} bytes", "ingest.too_large")


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise _file_error(path.name, "not a regular file", "ingest.not_a_file")
    if path.stat().st_size > MAX_BODACC_BYTES:
        raise _too_large(path.name)


def _read_bounded(path: Path) -> bytes:
    """The file's bytes, refusing more than the limit even if the file grows while read."""
    _check_file(path)
    with path.open("rb") as handle:
        data = handle.read(MAX_BODACC_BYTES + 1)
    if len(data) > MAX_BODACC_BYTES:
        raise _too_large(path.name)
    return data


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _file_error(name, f"not UTF-8 (byte {error.start})", "ingest.bad_encoding", offset=error.start) from None


_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DMY_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_LONG_DATE = re.compile(r"([0-9]{1,2})(?:er)? ([a-z]+) ([0-9]{4})")
_MONTHS = {
    "janvier": 1,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "decembre": 12,
}


def _parse_date(raw: str, *, lenient: bool) -> date | None:
    """ISO date; with ``lenient``, also ``DD/MM/YYYY`` and ``4 janvier 2021`` (judgment dates)."""
    text = raw.strip()
    try:
        if match := _ISO_DATE.fullmatch(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if not lenient:
            return None
        if match := _DMY_DATE.fullmatch(text):
            return date(int(match[3]), int(match[2]), int(match[1]))
        if (match := _LONG_DATE.fullmatch(_fold(text))) and match[2] in _MONTHS:
            return date(int(match[3]), _MONTHS[match[2]], int(match[1]))
    except ValueError:
        return None
    return None


def _required_date(raw: str | None, name: str, record: int, field: str) -> date:
    if raw is None or not raw.strip():
        raise _error(name, record, field, "missing date")
    parsed = _parse_date(raw, lenient=False)
    if parsed is None:
        raise _error(name, record, field, f"{raw!r} is not a date YYYY-MM-DD")
    return parsed


def _judgment_date(raw: str | None, name: str, record: int, field: str) -> date | None:
    if raw is None or not raw.strip():
        return None
    parsed = _parse_date(raw, lenient=True)
    if parsed is None:
        raise _error(name, record, field, f"{raw!r} is not a date")
    return parsed


_NOTICE_TYPES = {
    "annonce": "initial",
    "avis initial": "initial",
    "initial": "initial",
    "rectificatif": "rectificatif",
    "avis rectificatif": "rectificatif",
    "annulation": "annulation",
    "avis d'annulation": "annulation",
}


def _notice_type(raw: str | None, name: str, record: int, field: str) -> str:
    if raw is None or not raw.strip():
        return "initial"
    kind = _NOTICE_TYPES.get(_fold(raw))
    if kind is None:
        raise _error(name, record, field, f"unknown notice type {raw!r}")
    return kind


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    folded = " ".join(text.split())
    return folded or None


def _person_name(first: str | None, last: str | None) -> str | None:
    return _clean(" ".join(part for part in (first, last) if part))


# --------------------------------------------------------------------------
# OpenDataSoft JSON
# --------------------------------------------------------------------------


def _ods_records(document: Any, name: str) -> list[Any]:
    """The list of records in any of the OpenDataSoft answer shapes."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in ("records", "results"):
            if key in document:
                records = document[key]
                if not isinstance(records, list):
                    raise _file_error(name, f"{key!r} is not a list", "ingest.bad_json")
                return records
        if "fields" in document or "record" in document or "familleavis" in document:
            return [document]
    raise _file_error(name, "not an OpenDataSoft BODACC answer", "ingest.unknown_format")


def _ods_fields(raw: Any, name: str, record: int) -> Mapping[str, Any]:
    """A record's flat fields, whether v1 (``fields``), v2.0 (``record.fields``) or v2.1/export."""
    if isinstance(raw, dict):
        inner = raw.get("record")
        if isinstance(inner, dict) and isinstance(inner.get("fields"), dict):
            return inner["fields"]  # type: ignore[no-any-return]
        fields = raw.get("fields")
        if isinstance(fields, dict):
            return fields
        if "fields" not in raw and "record" not in raw:
            return raw
    raise _error(name, record, "fields", "record is not a JSON object of fields")


def _ods_text(fields: Mapping[str, Any], key: str, name: str, record: int) -> str | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _error(name, record, key, f"expected text, got {type(value).__name__}")
    return _clean(str(value))


def _ods_nested(fields: Mapping[str, Any], key: str, name: str, record: int) -> Any:
    """A field that OpenDataSoft stores as JSON inside a string: decode it once more."""
    value = fields.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            raise _error(name, record, key, "not valid JSON inside the string") from None
    if isinstance(value, dict | list):
        return value
    raise _error(name, record, key, f"expected a JSON string or object, got {type(value).__name__}")


def _ods_registre(fields: Mapping[str, Any], name: str, record: int) -> list[str]:
    value = fields.get("registre")
    if value is None:
        return []
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [part for item in value for part in item.split(",")]
    raise _error(name, record, "registre", "expected a list of strings or a comma-joined string")


def _ods_persons(value: Any, name: str, record: int) -> list[Mapping[str, Any]]:
    """The persons of ``listepersonnes``: ``{"personne": {…}}``, ``{"personne": […]}`` or a list of either."""
    if value is None:
        return []
    persons: list[Mapping[str, Any]] = []
    pending = [value]
    while pending:
        item = pending.pop(0)
        if isinstance(item, list):
            pending[:0] = item
        elif isinstance(item, dict) and "personne" in item:
            pending.insert(0, item["personne"])
        elif isinstance(item, dict):
            persons.append(item)
        else:
            raise _error(name, record, "listepersonnes", "expected person objects")
        if len(persons) > MAX_PERSONS:
            raise _error(name, record, "listepersonnes", f"more than {MAX_PERSONS} persons")
    return persons


def _ods_person_numbers(person: Mapping[str, Any]) -> list[str]:
    registration = person.get("numeroImmatriculation")
    registrations = registration if isinstance(registration, list) else [registration]
    numbers: list[str] = []
    for item in registrations:
        if isinstance(item, dict):
            for key in ("numeroIdentification", "numeroIdentificationRCS", "numeroIdentificationRM"):
                value = item.get(key)
                if isinstance(value, str | int) and not isinstance(value, bool):
                    numbers.append(str(value))
    return numbers


def _ods_person_name(person: Mapping[str, Any]) -> str | None:
    denomination = person.get("denomination")
    if isinstance(denomination, str) and denomination.strip():
        return _clean(denomination)
    last = person.get("nomUsage") or person.get("nom")
    first = person.get("prenom")
    return _person_name(first if isinstance(first, str) else None, last if isinstance(last, str) else None)


def _ods_judgment(value: Any, name: str, record: int, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _error(name, record, field, "expected a JSON object")
    judgment: dict[str, str] = {}
    for key in ("famille", "nature", "date", "complementJugement", "typeDepot", "descriptif"):
        item = value.get(key)
        if item is None:
            continue
        if not isinstance(item, str):
            raise _error(name, record, f"{field}.{key}", f"expected text, got {type(item).__name__}")
        judgment[key] = item
    return judgment


def _ods_announcement(fields: Mapping[str, Any], name: str, record: int) -> BodaccAnnouncement:
    identifier = _ods_text(fields, "id", name, record)
    if identifier is None:
        raise _error(name, record, "id", "missing notice id")
    if len(identifier) > MAX_ID_CHARS:
        raise _error(name, record, "id", f"notice id longer than {MAX_ID_CHARS} characters")
    published = _required_date(_ods_text(fields, "dateparution", name, record), name, record, "dateparution")
    judgment = _ods_judgment(_ods_nested(fields, "jugement", name, record), name, record, "jugement")
    if not judgment:
        # A notice without a judgment (claims lists) says what it is in ``depot``.
        deposit = _ods_judgment(_ods_nested(fields, "depot", name, record), name, record, "depot")
        judgment = {
            "nature": deposit.get("typeDepot", ""),
            "complementJugement": deposit.get("descriptif", ""),
        }
    persons = _ods_persons(_ods_nested(fields, "listepersonnes", name, record), name, record)
    numbers = _ods_registre(fields, name, record)
    for person in persons:
        numbers.extend(_ods_person_numbers(person))
    sirens, invalid = _split_identifiers(numbers)
    company = _ods_text(fields, "commercant", name, record)
    if company is None:
        company = next((n for n in map(_ods_person_name, persons) if n is not None), None)
    notice_field = "typeavis" if fields.get("typeavis") is not None else "typeavis_lib"
    family = _clean(judgment.get("famille")) or ""
    nature = _clean(judgment.get("nature")) or ""
    complement = _clean(judgment.get("complementJugement")) or ""
    kind, target = classify_judgment(family, nature, complement)
    return BodaccAnnouncement(
        source=name,
        record=record,
        announcement_id=identifier,
        sirens=sirens,
        publication_date=published,
        judgment_date=_judgment_date(judgment.get("date"), name, record, "jugement.date"),
        kind=kind,
        nature=nature,
        tribunal=_ods_text(fields, "tribunal", name, record),
        company_name=company,
        notice_type=_notice_type(_ods_text(fields, notice_field, name, record), name, record, notice_field),
        family=family,
        target=target,
        complement=complement,
        invalid_identifiers=invalid,
    )


def parse_bodacc_json(path: str | Path) -> BodaccParseResult:
    """Collective-procedure notices of an OpenDataSoft ``annonces-commerciales`` answer.

    Records whose ``familleavis`` is not ``collective`` are skipped and
    counted. Raises :class:`InvalidInput` for a file that is not JSON (naming
    the line and column) and on the first malformed record (naming record and
    field).
    """
    path = Path(path)
    name = path.name
    text = _decode(_read_bounded(path), name)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise _file_error(
            name,
            f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})",
            "ingest.bad_json",
            line=error.lineno,
        ) from None
    except (ValueError, RecursionError):
        raise _file_error(name, "not valid JSON (too deeply nested or oversized number)", "ingest.bad_json") from None
    announcements: list[BodaccAnnouncement] = []
    skipped = 0
    for record, raw in enumerate(_ods_records(document, name), start=1):
        fields = _ods_fields(raw, name, record)
        family = _ods_text(fields, "familleavis", name, record)
        if family is None:
            raise _error(name, record, "familleavis", "missing notice family")
        if _fold(family) != "collective":
            skipped += 1
            continue
        announcements.append(_ods_announcement(fields, name, record))
    return BodaccParseResult(announcements, skipped)


# --------------------------------------------------------------------------
# DILA XML
# --------------------------------------------------------------------------

_KNOWN_ROOT = re.compile(r"(?:PCL|RCS-A|RCS-B|BILAN|DIV)_[A-Z_]+")
_NOTICE_PARENTS = frozenset({"annonces", "listeAvis"})
_NOTICE_TAGS = frozenset({"annonce", "avis"})
_NUMBER_TAGS = frozenset({"numeroIdentificationRCS", "numeroIdentification", "numeroIdentificationRM"})


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element, tag: str) -> Element | None:
    for child in element:
        if _local(child.tag) == tag:
            return child
    return None


def _child_text(element: Element | None, tag: str) -> str | None:
    if element is None:
        return None
    child = _child(element, tag)
    return _clean(child.text) if child is not None else None


def _is_other_party(tag: str) -> bool:
    """Subtrees about someone else than the debtor: a previous owner, an earlier notice."""
    return tag.startswith(("precedent", "ancien")) or tag == "parutionAvisPrecedent"


def _debtor_elements(element: Element) -> Iterator[Element]:
    """Every descendant of a notice, except those describing another party."""
    # Iterative, not recursive: a hostile file may nest elements thousands deep.
    pending = list(reversed(element))
    while pending:
        child = pending.pop()
        if _is_other_party(_local(child.tag)):
            continue
        yield child
        pending.extend(reversed(child))


def _xml_name(notice: Element) -> str | None:
    for element in _debtor_elements(notice):
        tag = _local(element.tag)
        if tag == "personneMorale":
            name = _child_text(element, "denomination")
            if name is not None:
                return name
        elif tag == "personnePhysique":
            last = _child_text(element, "nomUsage") or _child_text(element, "nom")
            name = _person_name(_child_text(element, "prenom"), last)
            if name is not None:
                return name
    return None


class _BoundedReader:
    """A binary stream that refuses to yield more than the size limit (special files, lies)."""

    def __init__(self, stream: IO[bytes], name: str) -> None:
        self._stream = stream
        self._name = name
        self._seen = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size if size >= 0 else MAX_BODACC_BYTES + 1)
        self._seen += len(chunk)
        if self._seen > MAX_BODACC_BYTES:
            raise _too_large(self._name)
        return chunk


class _XmlNotices:
    """Streaming reader of one DILA flux: notices are handled and dropped one by one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.collective = False
        self.parution: str | None = None
        self.published: str | None = None
        self.announcements: list[BodaccAnnouncement] = []
        self.skipped = 0
        self.records = 0

    def run(self, stream: Any) -> BodaccParseResult:
        stack: list[Element] = []
        try:
            for event, element in defused_iterparse(stream, events=("start", "end"), forbid_dtd=True):
                if event == "start":
                    if not stack:
                        self._root(_local(element.tag))
                    stack.append(element)
                    continue
                stack.pop()
                self._end(element, stack)
        except DefusedXmlException as error:
            raise _file_error(
                self.name,
                f"refused: DTD or entity declarations are not allowed ({error})",
                "ingest.unsafe_xml",
            ) from None
        except ParseError as error:
            line, column = error.position
            raise _file_error(
                self.name, f"not well-formed XML (line {line}, column {column})", "ingest.bad_xml", line=line
            ) from None
        return BodaccParseResult(self.announcements, self.skipped)

    def _root(self, tag: str) -> None:
        if not _KNOWN_ROOT.fullmatch(tag):
            raise _file_error(self.name, f"root element {tag!r} is not a DILA BODACC flux", "ingest.unknown_format")
        self.collective = tag.startswith("PCL_")

    def _end(self, element: Element, stack: list[Element]) -> None:
        tag = _local(element.tag)
        depth = len(stack)
        if depth == 1 and tag == "parution":
            self.parution = _clean(element.text)
        elif depth == 1 and tag == "dateParution":
            self.published = _clean(element.text)
        elif tag in _NOTICE_TAGS and depth >= 1 and _local(stack[-1].tag) in _NOTICE_PARENTS:
            self.records += 1
            self._notice(element, self.records)
            stack[-1].remove(element)

    def _notice(self, notice: Element, record: int) -> None:
        judgment = _child(notice, "jugement")
        if judgment is None:
            judgment = _child(notice, "jugementAnnule")
        if not self.collective and judgment is None:
            self.skipped += 1
            return
        name = self.name
        number = _child_text(notice, "numeroAnnonce")
        if number is None or not re.fullmatch(r"[0-9]{1,10}", number):
            raise _error(name, record, "numeroAnnonce", f"{number!r} is not a notice number")
        if self.parution is not None and not re.fullmatch(r"[0-9]{8}", self.parution):
            raise _error(name, record, "parution", f"{self.parution!r} is not a publication number YYYYNNNN")
        if self.parution is not None:
            # The OpenDataSoft id of the same notice: one id whichever source it came from.
            identifier = f"A{self.parution}{number}"
        else:
            identifier = f"{_child_text(notice, 'nojo') or ''}-{number}"
        if len(identifier) > MAX_ID_CHARS:
            raise _error(name, record, "nojo", f"notice id longer than {MAX_ID_CHARS} characters")
        published = _required_date(self.published, name, record, "dateParution")
        notice_kind = _child(notice, "typeAnnonce")
        notice_type = "initial"
        if notice_kind is not None and len(notice_kind):
            notice_type = _notice_type(_local(notice_kind[0].tag), name, record, "typeAnnonce")
        numbers = [element.text or "" for element in _debtor_elements(notice) if _local(element.tag) in _NUMBER_TAGS]
        sirens, invalid = _split_identifiers(numbers)
        family = _child_text(judgment, "famille") or ""
        nature = _child_text(judgment, "nature") or ""
        complement = _child_text(judgment, "complementJugement") or ""
        kind, target = classify_judgment(family, nature, complement)
        self.announcements.append(
            BodaccAnnouncement(
                source=name,
                record=record,
                announcement_id=identifier,
                sirens=sirens,
                publication_date=published,
                judgment_date=_judgment_date(_child_text(judgment, "date"), name, record, "jugement.date"),
                kind=kind,
                nature=nature,
                tribunal=_child_text(notice, "tribunal"),
                company_name=_xml_name(notice),
                notice_type=notice_type,
                family=family,
                target=target,
                complement=complement,
                invalid_identifiers=invalid,
            )
        )


_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


def _is_archive(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(512)
    if head.startswith(_COMPRESSED_MAGIC):
        return True
    # An uncompressed tar says "ustar" at offset 257.
    return head[257:262] == b"ustar"


def _archive_member(tar: tarfile.TarFile, name: str) -> tarfile.TarInfo:
    """The archive's one regular ``.xml`` member, checking sizes before reading anything."""
    found: list[tarfile.TarInfo] = []
    total = 0
    for count, member in enumerate(iter(tar.next, None), start=1):
        if count > MAX_ARCHIVE_MEMBERS:
            raise _file_error(name, f"more than {MAX_ARCHIVE_MEMBERS} archive members", "ingest.bad_archive")
        if not member.isreg():
            continue  # directories, links, devices: never followed
        total += member.size
        if member.size > MAX_BODACC_BYTES or total > MAX_BODACC_BYTES:
            raise _too_large(name)
        if member.name.lower().endswith(".xml"):
            found.append(member)
    if len(found) != 1:
        raise _file_error(name, f"expected one XML file in the archive, found {len(found)}", "ingest.bad_archive")
    return found[0]


def _parse_archive(path: Path) -> BodaccParseResult:
    name = path.name
    try:
        with tarfile.open(path, mode="r:*") as tar:
            member = _archive_member(tar, name)
            stream = tar.extractfile(member)
            if stream is None:  # pragma: no cover - isreg() members always have data
                raise _file_error(name, "archive member has no data", "ingest.bad_archive")
            with stream:
                return _XmlNotices(name).run(_BoundedReader(stream, name))
    except (tarfile.TarError, EOFError, OSError) as error:
        raise _file_error(name, f"unreadable archive ({error})", "ingest.bad_archive") from None


def parse_bodacc_xml(path: str | Path) -> BodaccParseResult:
    """Notices of a DILA BODACC XML flux, or of a ``.taz``/``.tar`` holding one.

    ``PCL_REDIFF`` notices are all returned; notices of other flux (RCS-A,
    RCS-B, BILAN) are skipped and counted unless they carry a judgment. Any
    DTD is refused (``ingest.unsafe_xml``): BODACC files have none, and a DTD
    is how entity bombs and external-entity reads get in. The notice id is
    the OpenDataSoft one (``A`` + parution + notice number) when the file
    says its parution, else ``nojo-numeroAnnonce``.
    """
    path = Path(path)
    _check_file(path)
    if _is_archive(path):
        return _parse_archive(path)
    with path.open("rb") as handle:
        return _XmlNotices(path.name).run(_BoundedReader(handle, path.name))


# --------------------------------------------------------------------------
# PCL-derived CSV
# --------------------------------------------------------------------------


def parse_pcl_plans_csv(path: str | Path) -> BodaccParseResult:
    """Judgments of the ``RCS,DATE,EFFECTIFS,NATURE`` CSV derived from PCL files.

    It has no publication date nor notice id: the judgment date stands for
    the publication date, and the id is built from the row's content
    (``siren/date/`` + a digest of the nature) so that re-reading a reordered
    or extended file gives the same ids. ``record`` is the data row
    (1-based); errors name the line.
    """
    path = Path(path)
    name = path.name
    text = _decode(_read_bounded(path), name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [_fold(column) for column in next(reader, [])]
    except csv.Error as error:
        raise _file_error(name, f"unreadable CSV header ({error})", "ingest.bad_line", line=1) from None
    columns = {column: index for index, column in enumerate(header)}
    for required in ("rcs", "date", "nature"):
        if required not in columns:
            raise InvalidInput(
                f"{name}: missing column {required.upper()!r}",
                code="ingest.missing_column",
                field=required.upper(),
                context={"file": name},
            )
    announcements: list[BodaccAnnouncement] = []
    seen: dict[str, int] = {}
    record = 0
    while True:
        try:
            row = next(reader, None)
        except csv.Error as error:
            raise _line_error(name, reader.line_num, "", f"unreadable CSV ({error})") from None
        if row is None:
            break
        if not any(cell.strip() for cell in row):
            continue
        record += 1
        line = reader.line_num
        if len(row) != len(header):
            raise _line_error(name, line, "", f"{len(row)} fields, the header has {len(header)}")
        raw_siren = row[columns["rcs"]].strip()
        if not raw_siren:
            raise _line_error(name, line, "RCS", "missing SIREN")
        raw_date = row[columns["date"]].strip()
        judged = _parse_date(raw_date, lenient=False)
        if judged is None:
            raise _line_error(name, line, "DATE", f"{raw_date!r} is not a date YYYY-MM-DD")
        nature = _clean(row[columns["nature"]]) or ""
        kind, target = classify_judgment("", nature)
        sirens, invalid = _split_identifiers([raw_siren])
        digest = hashlib.sha256(_fold(nature).encode()).hexdigest()[:12]
        identifier = f"{sirens[0] if sirens else raw_siren[:20]}/{judged.isoformat()}/{digest}"
        seen[identifier] = seen.get(identifier, 0) + 1
        if seen[identifier] > 1:
            identifier = f"{identifier}#{seen[identifier]}"
        announcements.append(
            BodaccAnnouncement(
                source=name,
                record=record,
                announcement_id=identifier,
                sirens=sirens,
                publication_date=judged,
                judgment_date=judged,
                kind=kind,
                nature=nature,
                tribunal=None,
                company_name=None,
                notice_type="initial",
                family="",
                target=target,
                invalid_identifiers=invalid,
            )
        )
    return BodaccParseResult(announcements, 0)


def _line_error(name: str, line: int, field: str, problem: str) -> InvalidInput:
    where = f"{name}, line {line}" + (f", field {field}" if field else "")
    return InvalidInput(
        f"{where}: {problem}",
        code="ingest.bad_field" if field else "ingest.bad_line",
        field=field or None,
        context={"file": name, "line": line},
    )


# --------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------


def parse_bodacc(path: str | Path) -> BodaccParseResult:
    """Parse any BODACC file this module knows, recognised by its content first.

    Content beats the extension: a renamed file is still read with the right
    parser, and an unknown one is refused (``ingest.unknown_format``) rather
    than guessed at.
    """
    path = Path(path)
    _check_file(path)
    if _is_archive(path):
        return parse_bodacc_xml(path)
    with path.open("rb") as handle:
        head = handle.read(4096)
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if stripped.startswith((b"{", b"[")):
        return parse_bodacc_json(path)
    if stripped.startswith(b"<"):
        return parse_bodacc_xml(path)
    first_line = _fold(stripped.split(b"\n", 1)[0].decode("utf-8", errors="replace"))
    columns = {column.strip() for column in first_line.split(",")}
    if {"rcs", "date", "nature"} <= columns:
        return parse_pcl_plans_csv(path)
    raise _file_error(
        path.name,
        "not a BODACC file (expected OpenDataSoft JSON, DILA XML or .taz, or the RCS,DATE,NATURE CSV)",
        "ingest.unknown_format",
    )

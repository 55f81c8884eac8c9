"""Company identifiers: validation, canonical form, detection.

A buyer is one record per legal entity, shared by every insured, so the same
company typed as ``732 829 320`` by one credit manager and ``732829320`` by
another must produce the same key. Every identifier is therefore validated
(check digits included, with python-stdnum, a maintained library) and stored
in one compact canonical form: digits only for SIREN/SIRET/DUNS, country
prefix + number for VAT, upper case for LEI.

Errors name the identifier kind in their code (``identifier.invalid_siren``)
and say what is wrong — length, format or check digit — quoting the raw value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from stdnum import exceptions as stdnum_errors
from stdnum import get_cc_module, lei, luhn
from stdnum.eu import vat as eu_vat
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret
from stdnum.fr import tva as fr_tva

from tradecover.domain.errors import InvalidInput

if TYPE_CHECKING:
    from stdnum.util import NumberValidationModule

__all__ = [
    "CompanyIdentifier",
    "IdentifierKind",
    "detect_identifier",
    "french_vat_from_siren",
    "generate_siren",
    "parse_identifier",
    "siren_of",
]


class IdentifierKind(StrEnum):
    """The identifier schemes a buyer can be named by."""

    SIREN = "siren"
    SIRET = "siret"
    VAT_FR = "vat_fr"
    VAT = "vat"
    LEI = "lei"
    DUNS = "duns"


# What a stdnum exception means, most specific first: when two readings of a
# number fail, the more specific complaint is the more useful one.
_PROBLEMS: tuple[tuple[type[stdnum_errors.ValidationError], str], ...] = (
    (stdnum_errors.InvalidChecksum, "bad check digit"),
    (stdnum_errors.InvalidComponent, "bad component"),
    (stdnum_errors.InvalidLength, "bad length"),
    (stdnum_errors.InvalidFormat, "bad format"),
)

_SEPARATORS = re.compile(r"[\s.\-/]")


def _problem_rank(error: stdnum_errors.ValidationError) -> int:
    for rank, (kind, _) in enumerate(_PROBLEMS):
        if isinstance(error, kind):
            return rank
    return len(_PROBLEMS)


def _problem(error: stdnum_errors.ValidationError) -> str:
    for kind, text in _PROBLEMS:
        if isinstance(error, kind):
            return text
    return "invalid"


def _invalid(kind: IdentifierKind, raw: str, problem: str) -> InvalidInput:
    label = kind.value.replace("_", " ").upper()
    return InvalidInput(
        f"invalid {label} {raw!r}: {problem}",
        code=f"identifier.invalid_{kind.value}",
        field=kind.value,
        context={"value": raw, "problem": problem},
    )


def _compact(raw: str) -> str:
    return _SEPARATORS.sub("", raw).upper()


def _validate_siren(raw: str, kind: IdentifierKind) -> str:
    try:
        return str(fr_siren.validate(raw))
    except stdnum_errors.ValidationError as error:
        raise _invalid(kind, raw, _problem(error)) from None


def _validate_siret(raw: str, kind: IdentifierKind) -> str:
    try:
        return str(fr_siret.validate(raw))
    except stdnum_errors.ValidationError as error:
        raise _invalid(kind, raw, _problem(error)) from None


def _validate_vat_fr(raw: str, kind: IdentifierKind) -> str:
    try:
        # stdnum strips the FR prefix; a bare key + SIREN is accepted too.
        return "FR" + str(fr_tva.validate(raw))
    except stdnum_errors.ValidationError as error:
        raise _invalid(kind, raw, _problem(error)) from None


def _validate_lei(raw: str, kind: IdentifierKind) -> str:
    # stdnum checks the format and the mod 97-10 key but not ISO 17442's
    # fixed length of 20, so a shorter string could pass its checksum.
    length = len(_compact(raw))
    if length != 20:
        raise _invalid(kind, raw, f"bad length ({length} characters, 20 expected)")
    try:
        return str(lei.validate(raw))
    except stdnum_errors.ValidationError as error:
        raise _invalid(kind, raw, _problem(error)) from None


def _validate_duns(raw: str, kind: IdentifierKind) -> str:
    # A DUNS number has no check digit: only its shape can be verified.
    number = _compact(raw)
    if not number.isdigit() or not number.isascii():
        raise _invalid(kind, raw, "bad format (digits only)")
    if len(number) != 9:
        raise _invalid(kind, raw, f"bad length ({len(number)} digits, 9 expected)")
    return number


def _vat_module(country: str) -> NumberValidationModule | None:
    # get_cc_module answers None for a country stdnum has no VAT rules for.
    return get_cc_module(country.lower(), "vat")


def _validate_foreign_vat(raw: str, kind: IdentifierKind) -> tuple[IdentifierKind, str]:
    """Validate a VAT number that starts with its country prefix.

    FR numbers follow the French rules (and become ``vat_fr``); EU numbers go
    through stdnum's EU dispatcher (which knows EL for Greece and XI for
    Northern Ireland); other countries through their own stdnum module.
    """
    number = _compact(raw)
    prefix = number[:2]
    if len(number) < 3 or not prefix.isascii() or not prefix.isalpha():
        raise _invalid(kind, raw, "bad format (country prefix required, e.g. DE136695976)")
    if prefix == "FR":
        return IdentifierKind.VAT_FR, _validate_vat_fr(raw, kind)
    if prefix == "GR":
        # VIES and invoices use EL for Greece: keep one canonical form.
        number = "EL" + number[2:]
        prefix = "EL"
    if prefix.lower() in eu_vat.MEMBER_STATES or prefix == "EL":
        try:
            return IdentifierKind.VAT, str(eu_vat.validate(number))
        except stdnum_errors.ValidationError as error:
            raise _invalid(kind, raw, _problem(error)) from None
    if prefix == "CH":
        # The Swiss suffix is only the language of the tax (MWST, TVA, IVA,
        # TPV): one company, one canonical form, so MWST it is; the bare UID
        # (CHE + 9 digits) names the same company.
        uid = number[:12]
        if number[12:] in ("", "MWST", "TVA", "IVA", "TPV") and len(uid) == 12:
            number = uid + "MWST"
    module = _vat_module(prefix)
    if module is None:
        raise InvalidInput(
            f"no VAT number rules are known for country {prefix!r} ({raw!r})",
            code="identifier.unknown_vat_country",
            field=kind.value,
            context={"value": raw, "country": prefix},
        )
    # Some stdnum modules take the prefixed number (CHE-…), others only the
    # national part: try both readings, report the more specific failure.
    errors: list[stdnum_errors.ValidationError] = []
    for candidate in (number, number[2:]):
        try:
            compact = str(module.validate(candidate))
        except stdnum_errors.ValidationError as error:
            errors.append(error)
            continue
        return IdentifierKind.VAT, compact if compact.startswith(prefix) else prefix + compact
    raise _invalid(kind, raw, _problem(min(errors, key=_problem_rank))) from None


def _canonical(kind: IdentifierKind, raw: str) -> tuple[IdentifierKind, str]:
    """Validate ``raw`` as ``kind``; return the resulting kind and canonical value."""
    if not isinstance(raw, str) or not raw.strip():
        raise _invalid(kind, str(raw), "empty")
    if kind is IdentifierKind.SIREN:
        return kind, _validate_siren(raw, kind)
    if kind is IdentifierKind.SIRET:
        return kind, _validate_siret(raw, kind)
    if kind is IdentifierKind.VAT_FR:
        return kind, _validate_vat_fr(raw, kind)
    if kind is IdentifierKind.LEI:
        return kind, _validate_lei(raw, kind)
    if kind is IdentifierKind.DUNS:
        return kind, _validate_duns(raw, kind)
    return _validate_foreign_vat(raw, kind)


def _kind(kind: str | IdentifierKind) -> IdentifierKind:
    try:
        return IdentifierKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in IdentifierKind)
        raise InvalidInput(
            f"unknown identifier kind {kind!r} (known: {known})",
            code="identifier.unknown_kind",
            field="kind",
            context={"kind": kind},
        ) from None


@dataclass(frozen=True)
class CompanyIdentifier:
    """A validated identifier in canonical form; equal values name one company.

    Construction re-validates, so an instance always holds a valid canonical
    value even when built from stored data. Use :func:`parse_identifier` for
    user input (it canonicalises first).
    """

    kind: IdentifierKind
    value: str

    def __post_init__(self) -> None:
        kind = _kind(self.kind)
        object.__setattr__(self, "kind", kind)
        canonical_kind, canonical = _canonical(kind, self.value)
        if canonical_kind is not kind or canonical != self.value:
            raise InvalidInput(
                f"{self.value!r} is not the canonical {kind.value} form; expected {canonical_kind.value} {canonical!r}",
                code=f"identifier.invalid_{kind.value}",
                field=kind.value,
                context={"value": self.value, "expected": canonical},
            )

    def __str__(self) -> str:
        return self.value


def parse_identifier(kind: str | IdentifierKind, raw: str) -> CompanyIdentifier:
    """Validate user input as ``kind`` and return it in canonical form.

    A ``vat`` number with the FR prefix is returned as ``vat_fr`` so that the
    French rules (key derived from the SIREN) apply and it deduplicates with
    numbers typed as ``vat_fr``.
    """
    canonical_kind, canonical = _canonical(_kind(kind), raw)
    return CompanyIdentifier(canonical_kind, canonical)


def siren_of(identifier: CompanyIdentifier) -> str | None:
    """The SIREN inside a SIREN, SIRET or French VAT number, else None.

    The SIREN is the key French buyers are deduplicated on. Monaco numbers
    (``FRxx000…``) are French VAT numbers without a SIREN, hence None.
    """
    if identifier.kind is IdentifierKind.SIREN:
        return identifier.value
    if identifier.kind is IdentifierKind.SIRET:
        return identifier.value[:9]
    if identifier.kind is IdentifierKind.VAT_FR:
        body = identifier.value[4:]
        return None if body.startswith("000") else body
    return None


def french_vat_from_siren(siren: str) -> str:
    """The French VAT number of a SIREN: ``FR`` + key + SIREN.

    key = (12 + 3 × (SIREN mod 97)) mod 97, on two digits.
    """
    number = _validate_siren(siren, IdentifierKind.SIREN)
    key = (12 + 3 * (int(number) % 97)) % 97
    return f"FR{key:02d}{number}"


_SHAPE_DIGITS = re.compile(r"\d+")
_SHAPE_VAT_FR = re.compile(r"FR[0-9A-Z]{2}\d{9}")
_SHAPE_LEI = re.compile(r"[0-9A-Z]{18}\d{2}")
_SHAPE_VAT = re.compile(r"[A-Z]{2}[0-9A-Z]+")


def detect_identifier(raw: str) -> CompanyIdentifier:
    """Guess the kind of an identifier from its shape, then validate it.

    9 digits → SIREN (a DUNS has the same shape; in this French-first system
    a 9-digit number is read as a SIREN, pass ``duns`` explicitly otherwise),
    14 digits → SIRET, ``FR`` + 11 → French VAT, 20 alphanumerics ending in
    two digits → LEI, two letters + more → foreign VAT. A number of the right
    shape but wrong check digit is reported as invalid for that kind, never
    re-read as another kind.
    """
    if not isinstance(raw, str):
        raise InvalidInput(
            f"identifier must be text, got {raw!r}",
            code="identifier.unrecognized",
            field="identifier",
        )
    number = _compact(raw)
    if _SHAPE_DIGITS.fullmatch(number) and number.isascii():
        if len(number) == 9:
            return parse_identifier(IdentifierKind.SIREN, raw)
        if len(number) == 14:
            return parse_identifier(IdentifierKind.SIRET, raw)
    elif _SHAPE_VAT_FR.fullmatch(number):
        return parse_identifier(IdentifierKind.VAT_FR, raw)
    elif _SHAPE_LEI.fullmatch(number):
        return parse_identifier(IdentifierKind.LEI, raw)
    elif _SHAPE_VAT.fullmatch(number):
        return parse_identifier(IdentifierKind.VAT, raw)
    raise InvalidInput(
        f"cannot tell what kind of identifier {raw!r} is (expected SIREN, SIRET, VAT, LEI or DUNS)",
        code="identifier.unrecognized",
        field="identifier",
        context={"value": raw},
    )


def generate_siren(seed_int: int) -> str:
    """A deterministic, Luhn-valid SIREN for demo data.

    The 8-digit body is an affine bijection of ``seed_int`` modulo 10⁸ (so
    distinct seeds below 10⁸ give distinct SIRENs that do not look
    sequential), followed by the Luhn check digit.
    """
    if isinstance(seed_int, bool) or not isinstance(seed_int, int):
        raise InvalidInput(
            f"seed must be an int, got {seed_int!r}",
            code="identifier.invalid_seed",
            field="seed",
        )
    # 7_919_993 is coprime with 10, so the map is a bijection on 0..10⁸-1.
    body = f"{(seed_int * 7_919_993 + 12_345_678) % 100_000_000:08d}"
    return body + str(luhn.calc_check_digit(body))

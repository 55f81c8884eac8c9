"""Buyers: one record per legal entity, shared by every insured (DOMAIN.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from tradecover.domain.errors import InvalidInput
from tradecover.domain.grades import DEFAULT_GRADE_SCALE
from tradecover.domain.identifiers import (
    CompanyIdentifier,
    IdentifierKind,
    french_vat_from_siren,
    siren_of,
)


class LegalStatus(StrEnum):
    ACTIVE = "active"
    SAFEGUARD = "safeguard"  # sauvegarde
    RECEIVERSHIP = "receivership"  # redressement judiciaire
    LIQUIDATION = "liquidation"  # liquidation judiciaire
    CEASED = "ceased"


INSOLVENCY_STATUSES: frozenset[LegalStatus] = frozenset(
    {LegalStatus.SAFEGUARD, LegalStatus.RECEIVERSHIP, LegalStatus.LIQUIDATION}
)


def check_legal_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name or len(name) > 300:
        raise InvalidInput("legal_name must have 1 to 300 characters", code="buyer.invalid_name", field="legal_name")
    return name


def check_naf_code(raw: str | None, known: frozenset[str] | None = None) -> str | None:
    """NAF rév. 2 sub-class, e.g. ``46.69B``; checked against ``known`` when given."""
    if raw is None or raw == "":
        return None
    code = raw.strip().upper()
    if len(code) == 5 and code[:4].isdigit() and code[4].isalpha():
        code = f"{code[:2]}.{code[2:]}"
    if not (len(code) == 6 and code[2] == "." and code[:2].isdigit() and code[3:5].isdigit() and code[5].isalpha()):
        raise InvalidInput(
            f"{raw!r} is not a NAF rév. 2 code such as 46.69B", code="buyer.invalid_naf", field="naf_code"
        )
    if known is not None and code not in known:
        raise InvalidInput(f"unknown NAF code {code}", code="buyer.unknown_naf", field="naf_code")
    return code


@dataclass
class Buyer:
    """A legal entity some insured sells to; its identifiers are unique across the book."""

    id: str
    legal_name: str
    country: str
    identifiers: list[CompanyIdentifier]
    naf_code: str | None
    legal_form: str | None
    legal_status: LegalStatus
    parent_id: str | None
    risk_grade: int | None
    created_at: datetime
    city: str | None = None
    graded_pd: Decimal | None = None
    graded_at: datetime | None = None
    inputs_version: int = 1

    @property
    def probability_of_default(self) -> Decimal | None:
        """The model's PD when graded by it, else the grade table's PD."""
        if self.graded_pd is not None:
            return self.graded_pd
        return None if self.risk_grade is None else DEFAULT_GRADE_SCALE.pd_of(self.risk_grade)

    def identifier(self, kind: IdentifierKind) -> str | None:
        return next((i.value for i in self.identifiers if i.kind == kind), None)


@dataclass(frozen=True)
class BookEntry:
    """A buyer in one insured's book (the insured sells to it)."""

    organisation_id: str
    buyer_id: str
    customer_reference: str | None
    added_at: datetime


def buyer_identifiers(identifiers: list[CompanyIdentifier]) -> list[CompanyIdentifier]:
    """Complete a French buyer's identifiers: a SIRET or VAT implies its SIREN and VAT."""
    result = list(identifiers)
    kinds = {i.kind for i in result}
    siren = next((siren_of(i) for i in result if siren_of(i) is not None), None)
    if siren is not None:
        if IdentifierKind.SIREN not in kinds:
            result.append(CompanyIdentifier(IdentifierKind.SIREN, siren))
        if IdentifierKind.VAT_FR not in kinds:
            result.append(CompanyIdentifier(IdentifierKind.VAT_FR, french_vat_from_siren(siren)))
    sirens = {siren_of(i) for i in result} - {None}
    if len(sirens) > 1:
        raise InvalidInput(
            "the identifiers name different companies (their SIRENs differ)",
            code="buyer.identifiers_disagree",
            field="identifiers",
        )
    if not result:
        raise InvalidInput("a buyer needs at least one identifier", code="buyer.no_identifier", field="identifiers")
    return result


def search_key(text: str) -> str:
    """Upper case without accents or punctuation runs, for prefix search on names."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split()).upper()

"""Company identifiers: real numbers, clear errors, one canonical form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import tva as stdnum_tva

from tradecover.domain.errors import InvalidInput
from tradecover.domain.identifiers import (
    CompanyIdentifier,
    IdentifierKind,
    detect_identifier,
    french_vat_from_siren,
    generate_siren,
    parse_identifier,
    siren_of,
)

SIREN = "732829320"
SIRET = "73282932000074"
VAT_FR = "FR44732829320"
LEI = "529900T8BM49AURSDO55"
VAT_DE = "DE136695976"
VAT_GB = "GB980780684"
MONACO_VAT = "FR34000123456"  # FR VAT without a SIREN (Monaco)


def test_kind_values_are_lower_case() -> None:
    assert [k.value for k in IdentifierKind] == ["siren", "siret", "vat_fr", "vat", "lei", "duns"]


@pytest.mark.parametrize(
    ("kind", "raw", "expected_kind", "expected"),
    [
        ("siren", SIREN, IdentifierKind.SIREN, SIREN),
        ("siren", " 732 829 320 ", IdentifierKind.SIREN, SIREN),
        ("siret", SIRET, IdentifierKind.SIRET, SIRET),
        ("siret", "732 829 320 00074", IdentifierKind.SIRET, SIRET),
        ("vat_fr", VAT_FR, IdentifierKind.VAT_FR, VAT_FR),
        ("vat_fr", "fr 44 732829320", IdentifierKind.VAT_FR, VAT_FR),
        ("vat_fr", "44732829320", IdentifierKind.VAT_FR, VAT_FR),
        ("vat", VAT_FR, IdentifierKind.VAT_FR, VAT_FR),
        ("lei", LEI.lower(), IdentifierKind.LEI, LEI),
        ("vat", VAT_DE, IdentifierKind.VAT, VAT_DE),
        ("vat", "de 136.695.976", IdentifierKind.VAT, VAT_DE),
        ("vat", VAT_GB, IdentifierKind.VAT, VAT_GB),
        ("vat", "GB 980 7806 84", IdentifierKind.VAT, VAT_GB),
        ("vat", "EL094259216", IdentifierKind.VAT, "EL094259216"),
        ("vat", "GR094259216", IdentifierKind.VAT, "EL094259216"),
        ("vat", "CHE-116.281.710 MWST", IdentifierKind.VAT, "CHE116281710MWST"),
        ("vat", "CHE-116.281.710 TVA", IdentifierKind.VAT, "CHE116281710MWST"),
        ("vat", "CHE-116.281.710", IdentifierKind.VAT, "CHE116281710MWST"),
        ("vat", "NO 995 525 828 MVA", IdentifierKind.VAT, "NO995525828MVA"),
        ("duns", "15-048-3782", IdentifierKind.DUNS, "150483782"),
        (IdentifierKind.SIREN, SIREN, IdentifierKind.SIREN, SIREN),
    ],
)
def test_valid_identifiers_are_canonicalised(kind: str, raw: str, expected_kind: IdentifierKind, expected: str) -> None:
    identifier = parse_identifier(kind, raw)
    assert identifier.kind is expected_kind
    assert identifier.value == expected
    assert str(identifier) == expected


def test_two_spellings_name_the_same_company() -> None:
    assert parse_identifier("siren", "732 829 320") == parse_identifier("siren", "732829320")
    assert parse_identifier("vat", "fr44732829320") == parse_identifier("vat_fr", VAT_FR)
    assert len({parse_identifier("lei", LEI), parse_identifier("lei", LEI.lower())}) == 1


@pytest.mark.parametrize(
    ("kind", "raw", "problem"),
    [
        ("siren", "732829321", "bad check digit"),
        ("siren", "73282932", "bad length"),
        ("siren", "7328293201", "bad length"),
        ("siren", "73282932A", "bad format"),
        ("siret", "73282932000075", "bad check digit"),
        ("siret", "7328293200007", "bad length"),
        ("vat_fr", "FR45732829320", "bad check digit"),
        ("vat_fr", "FR44732829321", "bad check digit"),
        ("vat_fr", "FR4473282932", "bad length"),
        ("lei", "529900T8BM49AURSDO56", "bad check digit"),
        ("lei", "529900T8BM49AURSDO5", "bad length"),
        ("vat", "DE136695975", "bad check digit"),
        ("vat", "GB980780685", "bad check digit"),
        ("vat", "DE13669597", "bad length"),
        ("vat", "CHE-116.281.711 MWST", "bad check digit"),
        ("vat", "136695976", "bad format"),
        ("duns", "15048378", "bad length"),
        ("duns", "15048378X", "bad format"),
    ],
)
def test_invalid_identifiers_say_what_is_wrong(kind: str, raw: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_identifier(kind, raw)
    error = caught.value
    assert error.code == f"identifier.invalid_{kind}"
    assert error.field == kind
    assert problem in error.message
    assert repr(raw) in error.message


def test_empty_identifier_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_identifier("siren", "   ")
    assert caught.value.code == "identifier.invalid_siren"


def test_unknown_kind() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_identifier("passport", "123")
    assert caught.value.code == "identifier.unknown_kind"
    assert caught.value.field == "kind"


def test_vat_of_a_country_without_rules() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_identifier("vat", "US123456789")
    assert caught.value.code == "identifier.unknown_vat_country"
    assert caught.value.field == "vat"


def test_company_identifier_revalidates_and_requires_canonical_form() -> None:
    assert CompanyIdentifier(IdentifierKind.SIREN, SIREN).value == SIREN
    assert CompanyIdentifier("siren", SIREN).kind is IdentifierKind.SIREN  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as caught:
        CompanyIdentifier(IdentifierKind.SIREN, "732829321")
    assert caught.value.code == "identifier.invalid_siren"
    with pytest.raises(InvalidInput):
        CompanyIdentifier(IdentifierKind.SIREN, "732 829 320")
    with pytest.raises(InvalidInput):  # FR numbers are vat_fr, not vat
        CompanyIdentifier(IdentifierKind.VAT, VAT_FR)


def test_siren_of() -> None:
    assert siren_of(parse_identifier("siren", SIREN)) == SIREN
    assert siren_of(parse_identifier("siret", SIRET)) == SIREN
    assert siren_of(parse_identifier("vat_fr", VAT_FR)) == SIREN
    assert siren_of(parse_identifier("vat_fr", MONACO_VAT)) is None
    assert siren_of(parse_identifier("lei", LEI)) is None
    assert siren_of(parse_identifier("vat", VAT_DE)) is None
    assert siren_of(parse_identifier("duns", "150483782")) is None


def test_french_vat_from_siren() -> None:
    assert french_vat_from_siren(SIREN) == VAT_FR
    assert french_vat_from_siren("732 829 320") == VAT_FR
    with pytest.raises(InvalidInput) as caught:
        french_vat_from_siren("732829321")
    assert caught.value.code == "identifier.invalid_siren"


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        ("732 829 320", IdentifierKind.SIREN, SIREN),
        (SIRET, IdentifierKind.SIRET, SIRET),
        ("FR 44 732 829 320", IdentifierKind.VAT_FR, VAT_FR),
        (LEI, IdentifierKind.LEI, LEI),
        (VAT_DE, IdentifierKind.VAT, VAT_DE),
        (VAT_GB, IdentifierKind.VAT, VAT_GB),
    ],
)
def test_detect_identifier(raw: str, kind: IdentifierKind, value: str) -> None:
    assert detect_identifier(raw) == CompanyIdentifier(kind, value)


def test_detect_reports_the_shape_it_recognised() -> None:
    with pytest.raises(InvalidInput) as caught:
        detect_identifier("732829321")  # SIREN shape, wrong check digit: not re-read as DUNS
    assert caught.value.code == "identifier.invalid_siren"
    with pytest.raises(InvalidInput) as caught:
        detect_identifier("529900T8BM49AURSDO56")
    assert caught.value.code == "identifier.invalid_lei"


@pytest.mark.parametrize("raw", ["", "12345", "hello world!", "1234567890"])
def test_detect_refuses_unrecognised_shapes(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        detect_identifier(raw)
    assert caught.value.code == "identifier.unrecognized"


def test_generate_siren_is_deterministic_and_valid() -> None:
    assert generate_siren(1) == generate_siren(1)
    assert generate_siren(1) != generate_siren(2)
    assert stdnum_siren.is_valid(generate_siren(1))


@given(seed=st.integers(min_value=-(10**12), max_value=10**12))
def test_generated_sirens_are_luhn_valid_and_parse(seed: int) -> None:
    siren = generate_siren(seed)
    assert len(siren) == 9
    assert siren.isdigit()
    assert luhn.is_valid(siren)
    assert parse_identifier("siren", siren).value == siren


@given(seeds=st.sets(st.integers(min_value=0, max_value=10**8 - 1), min_size=2, max_size=50))
def test_distinct_seeds_give_distinct_sirens(seeds: set[int]) -> None:
    assert len({generate_siren(seed) for seed in seeds}) == len(seeds)


@given(seed=st.integers(min_value=0, max_value=10**8 - 1))
def test_french_vat_key_agrees_with_stdnum(seed: int) -> None:
    siren = generate_siren(seed)
    vat = french_vat_from_siren(siren)
    assert stdnum_tva.is_valid(vat)
    identifier = parse_identifier("vat", vat)
    assert identifier.kind is IdentifierKind.VAT_FR
    # FRxx000… is the Monaco range of French VAT numbers: it holds no SIREN (see siren_of).
    assert siren_of(identifier) == (None if siren.startswith("000") else siren)

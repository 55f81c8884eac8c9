"""Credit-limit vocabulary (DOMAIN.md §5): RECECO request types, responses and reasons."""

from __future__ import annotations

import dataclasses
from enum import StrEnum

import pytest

from tradecover.domain.errors import InvalidInput
from tradecover.domain.receco import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    RECECO_REASON_OTHER,
    Reason,
    ReasonCode,
    RequestType,
    ResponseType,
    from_receco,
    label,
    receco_code,
)

ENUMS: tuple[type[StrEnum], ...] = (RequestType, ResponseType, ReasonCode)
ALL_MEMBERS: list[StrEnum] = [member for enum in ENUMS for member in enum]

# Stored values: other code and the database depend on them. Adding a member
# means adding it here; changing or removing one is a data migration.
REQUEST_TYPE_VALUES = [
    "new",
    "increase",
    "preliminary_assessment",
    "reduction",
    "cancellation",
    "prolongation",
]
RESPONSE_TYPE_VALUES = {
    "APPROVED": "approved",
    "PARTLY_APPROVED": "partially_approved",
    "NOT_APPROVED": "refused",
    "CONDITIONAL": "conditional",
    "STILL_INVESTIGATING": "referred",
}
REASON_CODE_VALUES = [
    "approved_in_full",
    "within_capacity",
    "capacity_reached",
    "group_capacity_reached",
    "below_minimum_useful_amount",
    "above_automatic_ceiling",
    "no_financials",
    "financials_not_provided",
    "new_company",
    "not_registered",
    "non_trading_company",
    "adverse_information",
    "not_graded",
    "grade_too_low",
    "insolvency_procedure",
    "buyer_ceased",
    "country_not_covered",
    "public_body",
    "private_individual",
    "own_group",
    "reduced_at_insured_request",
    "cancelled_at_insured_request",
    "reduced_by_insurer",
    "cancelled_by_insurer",
    "lack_of_turnover",
    "expired",
    "prolonged",
    "underwriter_decision",
    "capacity_override",
    "discretionary_limit",
    "four_eyes_pending",
    "indication_only",
]

# Official UN/EDIFACT values (UNTDID 4505 / 4507 / 4509).
RECECO_SNAPSHOT: dict[StrEnum, str | None] = {
    RequestType.NEW: "2",
    RequestType.INCREASE: "3",
    RequestType.PRELIMINARY_ASSESSMENT: "4",
    RequestType.CANCELLATION: "6",
    RequestType.REDUCTION: "7",
    RequestType.PROLONGATION: "8",
    ResponseType.APPROVED: "2",
    ResponseType.NOT_APPROVED: "3",
    ResponseType.CONDITIONAL: "4",
    ResponseType.PARTLY_APPROVED: "5",
    ResponseType.STILL_INVESTIGATING: "6",
    ReasonCode.FINANCIALS_NOT_PROVIDED: "1",
    ReasonCode.NO_FINANCIALS: "2",
    ReasonCode.BUYER_CEASED: "3",
    ReasonCode.NEW_COMPANY: "4",
    ReasonCode.NOT_REGISTERED: "5",
    ReasonCode.NON_TRADING_COMPANY: "6",
    ReasonCode.ADVERSE_INFORMATION: "12",
    ReasonCode.CAPACITY_REACHED: "13",
    ReasonCode.GROUP_CAPACITY_REACHED: "13",
    ReasonCode.LACK_OF_TURNOVER: "14",
}


class Foreign(StrEnum):
    OTHER = "other"


# --- stored values -----------------------------------------------------------


def test_request_type_values_are_stable() -> None:
    assert [member.value for member in RequestType] == REQUEST_TYPE_VALUES


def test_response_type_values_are_stable() -> None:
    assert {member.name: member.value for member in ResponseType} == RESPONSE_TYPE_VALUES


def test_reason_code_values_are_stable() -> None:
    assert [member.value for member in ReasonCode] == REASON_CODE_VALUES


def test_required_reason_codes_exist() -> None:
    required = {
        "approved_in_full",
        "within_capacity",
        "capacity_reached",
        "group_capacity_reached",
        "below_minimum_useful_amount",
        "above_automatic_ceiling",
        "no_financials",
        "new_company",
        "adverse_information",
        "not_graded",
        "grade_too_low",
        "insolvency_procedure",
        "buyer_ceased",
        "country_not_covered",
        "public_body",
        "private_individual",
        "own_group",
        "reduced_at_insured_request",
        "cancelled_at_insured_request",
        "reduced_by_insurer",
        "cancelled_by_insurer",
        "expired",
        "prolonged",
        "underwriter_decision",
        "capacity_override",
        "discretionary_limit",
        "four_eyes_pending",
        "indication_only",
    }
    assert required <= {member.value for member in ReasonCode}


@pytest.mark.parametrize("enum", ENUMS)
def test_values_are_lowercase_identifiers(enum: type[StrEnum]) -> None:
    for member in enum:
        assert member.value == member.value.lower()
        assert member.value.replace("_", "").isalpha()


def test_values_do_not_collide_across_enums() -> None:
    values = [member.value for member in ALL_MEMBERS]
    assert len(values) == len(set(values))


# --- labels ------------------------------------------------------------------


@pytest.mark.parametrize("member", ALL_MEMBERS, ids=lambda m: f"{type(m).__name__}.{m.name}")
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_member_is_labelled_in_every_language(member: StrEnum, language: str) -> None:
    text = label(member, language)
    assert isinstance(text, str)
    assert text.strip() == text
    assert text


@pytest.mark.parametrize("enum", ENUMS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_labels_are_distinct_within_an_enum(enum: type[StrEnum], language: str) -> None:
    labels = [label(member, language).casefold() for member in enum]
    assert len(labels) == len(set(labels))


def test_languages_are_french_and_english_with_french_by_default() -> None:
    assert LANGUAGES == ("fr", "en")
    assert DEFAULT_LANGUAGE == "fr"
    assert label(ResponseType.NOT_APPROVED) == label(ResponseType.NOT_APPROVED, "fr") == "Refusée"
    assert label(ResponseType.NOT_APPROVED, "en") == "Not approved"


def test_french_and_english_labels_differ_somewhere_in_each_enum() -> None:
    for enum in ENUMS:
        assert any(label(member, "fr") != label(member, "en") for member in enum)


@pytest.mark.parametrize("language", ["de", "es", "", "xx-YY", "english"])
def test_unknown_language_falls_back_to_english(language: str) -> None:
    for member in ALL_MEMBERS:
        assert label(member, language) == label(member, "en")


@pytest.mark.parametrize(("language", "expected"), [("FR", "fr"), ("fr-FR", "fr"), ("fr_CA", "fr"), ("en-GB", "en")])
def test_language_tags_are_reduced_to_their_primary_subtag(language: str, expected: str) -> None:
    assert label(ReasonCode.NEW_COMPANY, language) == label(ReasonCode.NEW_COMPANY, expected)


def test_label_refuses_a_foreign_enum() -> None:
    with pytest.raises(TypeError):
        label(Foreign.OTHER)


def test_label_is_keyed_by_enum_not_by_string_value() -> None:
    # StrEnum members compare equal to their value; the label must still come
    # from the member's own enum.
    assert label(ResponseType.APPROVED, "en") == "Approved"
    assert label(ReasonCode.APPROVED_IN_FULL, "en") == "Approved in full"


# --- RECECO codes ------------------------------------------------------------


def test_receco_codes_match_the_official_lists() -> None:
    actual = {member: receco_code(member) for member in ALL_MEMBERS if receco_code(member) is not None}
    assert actual == RECECO_SNAPSHOT


def test_every_request_and_response_type_has_an_official_code() -> None:
    for member in (*RequestType, *ResponseType):
        assert receco_code(member) is not None


def test_tradecover_only_reasons_have_no_official_code() -> None:
    for code in (
        ReasonCode.BELOW_MINIMUM_USEFUL_AMOUNT,
        ReasonCode.GRADE_TOO_LOW,
        ReasonCode.UNDERWRITER_DECISION,
        ReasonCode.INDICATION_ONLY,
    ):
        assert receco_code(code) is None
    assert RECECO_REASON_OTHER == "15"


def test_official_codes_are_unique_within_an_element_except_credit_limit_full() -> None:
    for enum in (RequestType, ResponseType):
        codes = [receco_code(member) for member in enum]
        assert len(codes) == len(set(codes))
    reason_codes = [receco_code(member) for member in ReasonCode if receco_code(member) is not None]
    duplicates = {code for code in reason_codes if reason_codes.count(code) > 1}
    assert duplicates == {"13"}


@pytest.mark.parametrize("member", [m for m in ALL_MEMBERS if m in RECECO_SNAPSHOT], ids=str)
def test_from_receco_round_trips(member: StrEnum) -> None:
    official = receco_code(member)
    assert official is not None
    kind = type(member)
    assert kind in (RequestType, ResponseType, ReasonCode)
    back = from_receco(kind, official)  # type: ignore[type-var]
    if member is ReasonCode.GROUP_CAPACITY_REACHED:
        assert back is ReasonCode.CAPACITY_REACHED
    else:
        assert back is member


def test_from_receco_unknown_or_unmapped_code_gives_none() -> None:
    assert from_receco(RequestType, "1") is None  # multi-currency credit cover
    assert from_receco(ResponseType, "11") is None  # close buyer's account
    assert from_receco(ReasonCode, RECECO_REASON_OTHER) is None
    assert from_receco(ReasonCode, "999") is None
    assert from_receco(ReasonCode, " 13 ") is ReasonCode.CAPACITY_REACHED


def test_receco_code_refuses_a_foreign_enum() -> None:
    with pytest.raises(TypeError):
        receco_code(Foreign.OTHER)
    with pytest.raises(TypeError):
        from_receco(Foreign, "1")  # type: ignore[type-var]


# --- Reason ------------------------------------------------------------------


def test_reason_as_dict() -> None:
    reason = Reason(ReasonCode.CAPACITY_REACHED, detail="remaining 0 EUR")
    assert reason.as_dict("en") == {
        "code": "capacity_reached",
        "label": "Credit limit full: buyer capacity reached",
        "detail": "remaining 0 EUR",
    }
    assert reason.as_dict("fr")["label"] == label(ReasonCode.CAPACITY_REACHED, "fr")
    assert reason.as_dict() == reason.as_dict("fr")
    assert reason.as_dict("de") == reason.as_dict("en")


def test_reason_defaults_and_helpers() -> None:
    reason = Reason(ReasonCode.NO_FINANCIALS)
    assert reason.detail == ""
    assert reason.as_dict("en") == {
        "code": "no_financials",
        "label": "No financial information available",
        "detail": "",
    }
    assert reason.receco_code == "2"
    assert reason.label("en") == label(ReasonCode.NO_FINANCIALS, "en")
    assert Reason(ReasonCode.GRADE_TOO_LOW).receco_code is None


def test_reason_is_frozen_and_hashable() -> None:
    reason = Reason(ReasonCode.EXPIRED)
    with pytest.raises(dataclasses.FrozenInstanceError):
        reason.detail = "x"  # type: ignore[misc]
    assert reason == Reason(ReasonCode.EXPIRED)
    assert len({reason, Reason(ReasonCode.EXPIRED)}) == 1


def test_reason_accepts_a_stored_string_value() -> None:
    reason = Reason("new_company")  # type: ignore[arg-type]
    assert reason.code is ReasonCode.NEW_COMPANY


def test_reason_refuses_an_unknown_code() -> None:
    with pytest.raises(InvalidInput) as caught:
        Reason("no_such_reason")  # type: ignore[arg-type]
    assert caught.value.field == "code"


def test_reason_refuses_a_non_text_detail() -> None:
    with pytest.raises(InvalidInput) as caught:
        Reason(ReasonCode.EXPIRED, detail=None)  # type: ignore[arg-type]
    assert caught.value.field == "detail"

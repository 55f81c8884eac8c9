"""Credit-limit vocabulary: request types, responses and reasons (DOMAIN.md §5).

The vocabulary follows the open UN/EDIFACT RECECO message (*Credit risk
cover*), whose CCD segment (*Credit cover details*) carries three coded data
elements:

* 4505 *Credit cover request type code*  → :class:`RequestType`
* 4507 *Credit cover response type code* → :class:`ResponseType`
* 4509 *Credit cover response reason code* → :class:`ReasonCode`

Two kinds of code live here, and they must not be confused:

1. The enum **values** (``"new"``, ``"refused"``, ``"capacity_reached"`` …) are
   tradecover's own stable codes. They are what is stored, sent over the API
   and matched on by other code; they never change meaning once published.
2. :func:`receco_code` gives the **official UN/EDIFACT code value** for a
   member *only where the standard has an equivalent*; otherwise ``None``.
   These numbers were checked against the UNECE directories (UNTDID) and the
   UN/CEFACT vocabulary; the codes used here are unchanged from release D.98B
   to the current directories (D.20B):

   - https://vocabulary.uncefact.org/uncl4505
   - https://service.unece.org/trade/untdid/d00a/tred/tred4507.htm
   - https://service.unece.org/trade/untdid/d00a/tred/tred4509.htm

   Most of tradecover's reasons (capacity, ceilings, grades, territory,
   excluded buyer types, underwriter workflow) are finer than RECECO's list
   and have no official code; an EDI writer should send them as 4509 code
   ``"15"`` (*Other*, :data:`RECECO_REASON_OTHER`) with the label as free text.
   The mapping to RECECO is many-to-one in one place: both
   ``capacity_reached`` and ``group_capacity_reached`` are RECECO 13
   (*Credit limit full*); reading 13 back gives ``capacity_reached``.

Every member has a French and an English label (:func:`label`); French is the
default, and an unknown language falls back to English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple, TypeVar

from tradecover.domain.errors import InvalidInput

__all__ = [
    "DEFAULT_LANGUAGE",
    "FALLBACK_LANGUAGE",
    "LANGUAGES",
    "RECECO_REASON_OTHER",
    "RECECO_REQUEST_TYPE_ELEMENT",
    "RECECO_RESPONSE_REASON_ELEMENT",
    "RECECO_RESPONSE_TYPE_ELEMENT",
    "Labels",
    "Reason",
    "ReasonCode",
    "RequestType",
    "ResponseType",
    "from_receco",
    "label",
    "receco_code",
]

#: Languages every code is labelled in.
LANGUAGES: tuple[str, ...] = ("fr", "en")
#: Language used when the caller names none.
DEFAULT_LANGUAGE = "fr"
#: Language used when the caller names one we do not have.
FALLBACK_LANGUAGE = "en"

#: UN/EDIFACT data element tags of the CCD segment of RECECO.
RECECO_REQUEST_TYPE_ELEMENT = "4505"
RECECO_RESPONSE_TYPE_ELEMENT = "4507"
RECECO_RESPONSE_REASON_ELEMENT = "4509"
#: UN/EDIFACT 4509 code "Other": reasons not otherwise specified.
RECECO_REASON_OTHER = "15"


class RequestType(StrEnum):
    """What the insured asks for on a buyer (RECECO 4505)."""

    NEW = "new"
    INCREASE = "increase"
    PRELIMINARY_ASSESSMENT = "preliminary_assessment"
    REDUCTION = "reduction"
    CANCELLATION = "cancellation"
    PROLONGATION = "prolongation"


class ResponseType(StrEnum):
    """The insurer's answer to a request (RECECO 4507)."""

    APPROVED = "approved"
    PARTLY_APPROVED = "partially_approved"
    NOT_APPROVED = "refused"
    CONDITIONAL = "conditional"
    STILL_INVESTIGATING = "referred"


class ReasonCode(StrEnum):
    """Why a decision was taken (RECECO 4509 where it has an equivalent)."""

    # Grant and capacity.
    APPROVED_IN_FULL = "approved_in_full"
    WITHIN_CAPACITY = "within_capacity"
    CAPACITY_REACHED = "capacity_reached"
    GROUP_CAPACITY_REACHED = "group_capacity_reached"
    BELOW_MINIMUM_USEFUL_AMOUNT = "below_minimum_useful_amount"
    ABOVE_AUTOMATIC_CEILING = "above_automatic_ceiling"
    # Information on the buyer.
    NO_FINANCIALS = "no_financials"
    FINANCIALS_NOT_PROVIDED = "financials_not_provided"
    NEW_COMPANY = "new_company"
    NOT_REGISTERED = "not_registered"
    NON_TRADING_COMPANY = "non_trading_company"
    ADVERSE_INFORMATION = "adverse_information"
    # Risk.
    NOT_GRADED = "not_graded"
    GRADE_TOO_LOW = "grade_too_low"
    INSOLVENCY_PROCEDURE = "insolvency_procedure"
    BUYER_CEASED = "buyer_ceased"
    # Coverability.
    COUNTRY_NOT_COVERED = "country_not_covered"
    PUBLIC_BODY = "public_body"
    PRIVATE_INDIVIDUAL = "private_individual"
    OWN_GROUP = "own_group"
    # Life of a limit in force.
    REDUCED_AT_INSURED_REQUEST = "reduced_at_insured_request"
    CANCELLED_AT_INSURED_REQUEST = "cancelled_at_insured_request"
    REDUCED_BY_INSURER = "reduced_by_insurer"
    CANCELLED_BY_INSURER = "cancelled_by_insurer"
    LACK_OF_TURNOVER = "lack_of_turnover"
    EXPIRED = "expired"
    PROLONGED = "prolonged"
    # Who decided, and how firmly.
    UNDERWRITER_DECISION = "underwriter_decision"
    CAPACITY_OVERRIDE = "capacity_override"
    DISCRETIONARY_LIMIT = "discretionary_limit"
    FOUR_EYES_PENDING = "four_eyes_pending"
    INDICATION_ONLY = "indication_only"


class Labels(NamedTuple):
    """The human labels of one code."""

    fr: str
    en: str


_REQUEST_TYPE_LABELS: Mapping[RequestType, Labels] = MappingProxyType(
    {
        RequestType.NEW: Labels("Nouvelle limite", "New limit"),
        RequestType.INCREASE: Labels("Augmentation de limite", "Limit increase"),
        RequestType.PRELIMINARY_ASSESSMENT: Labels("Évaluation préliminaire", "Preliminary assessment"),
        RequestType.REDUCTION: Labels("Réduction de limite", "Limit reduction"),
        RequestType.CANCELLATION: Labels("Annulation de limite", "Limit cancellation"),
        RequestType.PROLONGATION: Labels("Prolongation de limite", "Limit prolongation"),
    }
)

_RESPONSE_TYPE_LABELS: Mapping[ResponseType, Labels] = MappingProxyType(
    {
        ResponseType.APPROVED: Labels("Accordée", "Approved"),
        ResponseType.PARTLY_APPROVED: Labels("Accordée partiellement", "Partly approved"),
        ResponseType.NOT_APPROVED: Labels("Refusée", "Not approved"),
        ResponseType.CONDITIONAL: Labels("Accordée sous conditions", "Conditional approval"),
        ResponseType.STILL_INVESTIGATING: Labels("En cours d'examen", "Still under investigation"),
    }
)

_REASON_LABELS: Mapping[ReasonCode, Labels] = MappingProxyType(
    {
        ReasonCode.APPROVED_IN_FULL: Labels("Accordée en totalité", "Approved in full"),
        ReasonCode.WITHIN_CAPACITY: Labels(
            "Dans la capacité disponible sur l'acheteur", "Within the capacity available on the buyer"
        ),
        ReasonCode.CAPACITY_REACHED: Labels(
            "Limite pleine : capacité sur l'acheteur atteinte", "Credit limit full: buyer capacity reached"
        ),
        ReasonCode.GROUP_CAPACITY_REACHED: Labels(
            "Capacité sur le groupe de l'acheteur atteinte", "Capacity on the buyer's group reached"
        ),
        ReasonCode.BELOW_MINIMUM_USEFUL_AMOUNT: Labels(
            "Montant disponible inférieur au minimum utile", "Available amount below the minimum useful amount"
        ),
        ReasonCode.ABOVE_AUTOMATIC_CEILING: Labels(
            "Montant au-delà du plafond de décision automatique", "Amount above the automatic decision ceiling"
        ),
        ReasonCode.NO_FINANCIALS: Labels(
            "Aucune information financière disponible", "No financial information available"
        ),
        ReasonCode.FINANCIALS_NOT_PROVIDED: Labels(
            "Informations financières demandées non fournies", "Requested financial information not provided"
        ),
        ReasonCode.NEW_COMPANY: Labels("Entreprise de création récente", "Newly incorporated company"),
        ReasonCode.NOT_REGISTERED: Labels("Acheteur non immatriculé", "Buyer not registered as a legal entity"),
        ReasonCode.NON_TRADING_COMPANY: Labels(
            "Société sans activité commerciale (holding…)", "Non-trading company (holding…)"
        ),
        ReasonCode.ADVERSE_INFORMATION: Labels(
            "Informations défavorables sur l'acheteur", "Adverse information on the buyer"
        ),
        ReasonCode.NOT_GRADED: Labels("Acheteur non noté", "Buyer not graded"),
        ReasonCode.GRADE_TOO_LOW: Labels(
            "Note de l'acheteur trop dégradée (9 ou plus)", "Buyer grade too weak (9 or worse)"
        ),
        ReasonCode.INSOLVENCY_PROCEDURE: Labels("Acheteur en procédure collective", "Buyer in insolvency proceedings"),
        ReasonCode.BUYER_CEASED: Labels("Acheteur ayant cessé son activité", "Buyer has ceased trading"),
        ReasonCode.COUNTRY_NOT_COVERED: Labels("Pays de l'acheteur non couvert", "Buyer's country not covered"),
        ReasonCode.PUBLIC_BODY: Labels("Acheteur public, exclu de la garantie", "Public body, excluded from cover"),
        ReasonCode.PRIVATE_INDIVIDUAL: Labels(
            "Acheteur particulier, exclu de la garantie", "Private individual, excluded from cover"
        ),
        ReasonCode.OWN_GROUP: Labels(
            "Société du groupe de l'assuré, exclue de la garantie",
            "Company of the insured's own group, excluded from cover",
        ),
        ReasonCode.REDUCED_AT_INSURED_REQUEST: Labels(
            "Réduite à la demande de l'assuré", "Reduced at the insured's request"
        ),
        ReasonCode.CANCELLED_AT_INSURED_REQUEST: Labels(
            "Annulée à la demande de l'assuré", "Cancelled at the insured's request"
        ),
        ReasonCode.REDUCED_BY_INSURER: Labels("Réduite par l'assureur", "Reduced by the insurer"),
        ReasonCode.CANCELLED_BY_INSURER: Labels("Annulée par l'assureur", "Cancelled by the insurer"),
        ReasonCode.LACK_OF_TURNOVER: Labels(
            "Absence de chiffre d'affaires sur l'acheteur", "Lack of turnover on the buyer"
        ),
        ReasonCode.EXPIRED: Labels("Arrivée à échéance", "Expired"),
        ReasonCode.PROLONGED: Labels("Prolongée", "Prolonged"),
        ReasonCode.UNDERWRITER_DECISION: Labels("Décision du souscripteur", "Underwriter's decision"),
        ReasonCode.CAPACITY_OVERRIDE: Labels("Capacité fixée par un souscripteur", "Capacity set by an underwriter"),
        ReasonCode.DISCRETIONARY_LIMIT: Labels("Limite discrétionnaire de l'assuré", "Insured's discretionary limit"),
        ReasonCode.FOUR_EYES_PENDING: Labels(
            "En attente d'une seconde validation (quatre yeux)", "Awaiting a second approval (four eyes)"
        ),
        ReasonCode.INDICATION_ONLY: Labels(
            "Simple indication, sans engagement de l'assureur", "Indication only, no commitment from the insurer"
        ),
    }
)

# Official UN/EDIFACT code values (see the module docstring for the sources).
_RECECO_4505: Mapping[RequestType, str] = MappingProxyType(
    {
        RequestType.NEW: "2",  # Request new limit
        RequestType.INCREASE: "3",  # Request increased limit
        RequestType.PRELIMINARY_ASSESSMENT: "4",  # Request for preliminary assessment
        RequestType.CANCELLATION: "6",  # Cancellation
        RequestType.REDUCTION: "7",  # Reduction
        RequestType.PROLONGATION: "8",  # Prolongation of credit cover
    }
)

_RECECO_4507: Mapping[ResponseType, str] = MappingProxyType(
    {
        ResponseType.APPROVED: "2",  # Approved
        ResponseType.NOT_APPROVED: "3",  # Not approved
        ResponseType.CONDITIONAL: "4",  # Conditional approval
        ResponseType.PARTLY_APPROVED: "5",  # Partly approved
        ResponseType.STILL_INVESTIGATING: "6",  # Still investigating
    }
)

# Insertion order matters: when two members share a code, the first one is
# what :func:`from_receco` returns.
_RECECO_4509: Mapping[ReasonCode, str] = MappingProxyType(
    {
        ReasonCode.FINANCIALS_NOT_PROVIDED: "1",  # Requested financial information not provided
        ReasonCode.NO_FINANCIALS: "2",  # No financial information available
        ReasonCode.BUYER_CEASED: "3",  # Debtor is out of business
        ReasonCode.NEW_COMPANY: "4",  # Debtor is new company
        ReasonCode.NOT_REGISTERED: "5",  # Debtor is not registered
        ReasonCode.NON_TRADING_COMPANY: "6",  # Debtor is non-trading company
        ReasonCode.ADVERSE_INFORMATION: "12",  # Adverse information is publicly available
        ReasonCode.CAPACITY_REACHED: "13",  # Credit limit full
        ReasonCode.GROUP_CAPACITY_REACHED: "13",  # Credit limit full (at group level)
        ReasonCode.LACK_OF_TURNOVER: "14",  # Lack of turnover
    }
)

_E = TypeVar("_E", RequestType, ResponseType, ReasonCode)


def _labels_of(code: StrEnum) -> Labels:
    if isinstance(code, RequestType):
        return _REQUEST_TYPE_LABELS[code]
    if isinstance(code, ResponseType):
        return _RESPONSE_TYPE_LABELS[code]
    if isinstance(code, ReasonCode):
        return _REASON_LABELS[code]
    raise TypeError(f"{code!r} is not a RequestType, ResponseType or ReasonCode")


def _receco_table(kind: type[StrEnum]) -> Mapping[str, str]:
    """Member value → official code, for one of the three enums."""
    table: Mapping[RequestType, str] | Mapping[ResponseType, str] | Mapping[ReasonCode, str]
    if kind is RequestType:
        table = _RECECO_4505
    elif kind is ResponseType:
        table = _RECECO_4507
    elif kind is ReasonCode:
        table = _RECECO_4509
    else:
        raise TypeError(f"{kind!r} is not RequestType, ResponseType or ReasonCode")
    return {member.value: official for member, official in table.items()}


def _language(language: str) -> str:
    """``"fr-FR"``, ``"FR"`` and ``"fr_CA"`` all mean French; anything unknown means English."""
    primary = language.replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary in LANGUAGES else FALLBACK_LANGUAGE


def label(code: StrEnum, language: str = DEFAULT_LANGUAGE) -> str:
    """The human label of ``code`` in ``language`` ("fr" or "en"; anything else gives English)."""
    labels = _labels_of(code)
    return labels.fr if _language(language) == "fr" else labels.en


def receco_code(code: StrEnum) -> str | None:
    """The official UN/EDIFACT code of ``code`` (element 4505, 4507 or 4509), or ``None`` if RECECO has none."""
    _labels_of(code)  # refuses anything but the three enums
    return _receco_table(type(code)).get(code.value)


def from_receco(kind: type[_E], value: str) -> _E | None:
    """The tradecover member whose official RECECO code is ``value``, or ``None``.

    ``kind`` is :class:`RequestType` (element 4505), :class:`ResponseType`
    (4507) or :class:`ReasonCode` (4509). RECECO codes with no tradecover
    equivalent (e.g. 4505 "1" multi-currency cover, 4509 "15" other) give
    ``None``; 4509 "13" gives :attr:`ReasonCode.CAPACITY_REACHED`, the first
    of the two members that share it.
    """
    wanted = value.strip()
    for member_value, official in _receco_table(kind).items():
        if official == wanted:
            return kind(member_value)
    return None


@dataclass(frozen=True)
class Reason:
    """A reason code shown to the user, with optional free-text detail."""

    code: ReasonCode
    detail: str = ""

    def __post_init__(self) -> None:
        # Accept the stored string value (e.g. reloaded from the database).
        try:
            code = ReasonCode(self.code)
        except ValueError:
            raise InvalidInput(f"unknown reason code {self.code!r}", field="code") from None
        if not isinstance(self.detail, str):
            raise InvalidInput("reason detail must be text", field="detail")
        object.__setattr__(self, "code", code)

    @property
    def receco_code(self) -> str | None:
        """The official RECECO 4509 code, or ``None`` when it has none."""
        return receco_code(self.code)

    def label(self, language: str = DEFAULT_LANGUAGE) -> str:
        return label(self.code, language)

    def as_dict(self, language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
        return {"code": self.code.value, "label": label(self.code, language), "detail": self.detail}

"""The insurer's portfolio (DOMAIN.md §11): accumulation of limits and covered exposure, and the live book
that the portfolio loss model reads.

Both read the whole book, every insured's, so they are for the insurer's staff only
(:data:`Permission.PORTFOLIO_READ`); an insured or a broker is refused with ``auth.forbidden``.

What one (policy, buyer) line holds, as of a date:

* **limit** = the granted limit in force (the insurer's decisions, :func:`amount_in_force`), the amount
  DOMAIN.md §5 accumulates; zero on a policy terminated (or cancelled) by then, which takes no new delivery.
* **covered exposure** = the rule of DOMAIN.md §6, computed by :func:`exposures_of_policy` exactly as the
  exposure report does: max over the limit's periods of min(outstanding, limit), over the covered invoices
  excluding VAT, other invoice currencies converted to the policy's at the latest reference rate.
  It is what the policy covers now, so it may exceed the limit in force (a reduction leaves earlier
  deliveries covered up to the former amount) or exist without any decision (discretionary cover).

A pair is in the book when either amount is positive; a buyer with neither is left out.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from tradecover.domain.accumulation import (
    UNKNOWN_SECTOR,
    AccumulationLine,
    Breach,
    Cap,
    Dimension,
    DimensionTotals,
    applicable_caps,
    breaches,
    totals,
)
from tradecover.domain.buyers import Buyer
from tradecover.domain.credit_limits import LimitDecision, amount_in_force
from tradecover.domain.errors import InvalidInput, RuleBroken
from tradecover.domain.grades import DEFAULT_GRADE_SCALE, NOT_COVERABLE_FROM_GRADE
from tradecover.domain.money import Money
from tradecover.domain.money import currency as check_currency
from tradecover.domain.policies import Policy, PolicyStatus, is_terminated
from tradecover.domain.quotes import sector_section
from tradecover.services.authorization import Actor, Permission, require
from tradecover.services.exports import csv_bytes
from tradecover.services.exposure import RateBook, exposures_of_policy
from tradecover.services.ports import Page, UnitOfWork

#: Loss given default of the live book unless told otherwise: the share of the exposure lost on a default.
DEFAULT_LGD_RATE = Decimal("0.60")
#: The grade whose PD an ungraded buyer gets in the live book: the worst grade still coverable, so that a
#: buyer nobody has graded is never taken for a good risk.
UNGRADED_GRADE = NOT_COVERABLE_FROM_GRADE - 1
#: The live book's CSV, the input of ``tradecover portfolio loss --book FILE``.
BOOK_CSV_HEADER = ("obligor_id", "ead", "pd", "lgd", "sector", "country")
#: The accumulation CSV: one row per key of the dimension.
ACCUMULATION_CSV_HEADER = (
    "dimension",
    "key",
    "name",
    "limit_amount",
    "covered_exposure_amount",
    "currency",
    "share",
    "cap",
    "breach",
)
MAX_TOP = 1000


def sector_of(buyer: Buyer) -> str:
    """The buyer's NAF section letter (A..U), or ``?`` without a readable NAF code."""
    if not buyer.naf_code:
        return UNKNOWN_SECTOR
    try:
        return sector_section(buyer.naf_code)
    except InvalidInput:
        return UNKNOWN_SECTOR


def _all_policies(uow: UnitOfWork) -> list[Policy]:
    found: list[Policy] = []
    while True:
        page, total = uow.policies.list_page(policyholder_ids=None, page=Page(limit=500, offset=len(found)))
        found += page
        if not page or len(found) >= total:
            return found


def _takes_limits(policy: Policy, on: date) -> bool:
    """Whether the policy's limits count on ``on``: in force, not terminated by then."""
    return policy.status is PolicyStatus.IN_FORCE and not is_terminated(policy, on)


@dataclass(frozen=True)
class _Pair:
    policy: Policy
    buyer_id: str
    limit: Money
    covered: Money


def _pairs(uow: UnitOfWork, on: date) -> list[_Pair]:
    """Every (policy, buyer) with a positive limit in force or covered exposure on ``on``."""
    pairs: list[_Pair] = []
    for policy in _all_policies(uow):
        histories: dict[str, list[LimitDecision]] = defaultdict(list)
        for decision in uow.limits.decisions_of_policy(policy.id):
            histories[decision.buyer_id].append(decision)
        counts = _takes_limits(policy, on)
        zero = Money.zero(policy.currency)
        limits = {b: amount_in_force(h, on, policy.currency) if counts else zero for b, h in histories.items()}
        ids = sorted(set(histories) | set(uow.ledger.buyers_with_entries(policy.id)))
        if not ids:
            continue
        report = exposures_of_policy(uow, policy, on=on, buyer_ids=ids)
        for buyer, exposure in report.buyers:
            limit = limits.get(buyer.id, zero)
            if limit.is_positive() or exposure.covered.is_positive():
                pairs.append(_Pair(policy, buyer.id, limit, exposure.covered))
    return pairs


def _buyers(uow: UnitOfWork, pairs: Sequence[_Pair]) -> tuple[dict[str, Buyer], dict[str, Buyer]]:
    """The buyers of the pairs, and their group heads."""
    buyers = uow.buyers.get_many(sorted({p.buyer_id for p in pairs}))
    heads = sorted({b.parent_id for b in buyers.values() if b.parent_id} - set(buyers))
    return buyers, {**buyers, **uow.buyers.get_many(heads)}


def book_lines(uow: UnitOfWork, on: date) -> list[AccumulationLine]:
    """The book as accumulation lines on ``on`` (no authorisation: callers check it)."""
    pairs = _pairs(uow, on)
    buyers, known = _buyers(uow, pairs)
    lines: list[AccumulationLine] = []
    for pair in pairs:
        buyer = buyers[pair.buyer_id]
        head_id = buyer.parent_id or buyer.id
        head = known.get(head_id)
        lines.append(
            AccumulationLine(
                buyer_id=buyer.id,
                buyer_name=buyer.legal_name,
                group_id=head_id,
                group_name=head.legal_name if head is not None else head_id,
                country=buyer.country,
                sector=sector_of(buyer),
                policy_id=pair.policy.id,
                policy_number=pair.policy.number,
                limit_amount=pair.limit,
                covered_exposure_amount=pair.covered,
            )
        )
    return lines


# --- Accumulation ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioAccumulation:
    """The book on ``as_of`` summed by ``dimension`` (one :class:`DimensionTotals` per currency), and every
    cap breached, on any dimension (in the order of :class:`Dimension`, the largest excess first in each
    dimension and currency)."""

    as_of: date
    dimension: Dimension
    top_n: int
    caps: tuple[Cap, ...]
    books: tuple[DimensionTotals, ...]
    breaches: tuple[Breach, ...]
    lines: int  # (policy, buyer) pairs in the book

    def breaches_of(self, dimension: Dimension) -> list[Breach]:
        return [b for b in self.breaches if b.dimension is dimension]


def accumulation(
    uow: UnitOfWork,
    actor: Actor,
    as_of: date,
    caps: Sequence[Cap],
    top_n: int = 10,
    *,
    dimension: Dimension = Dimension.BUYER,
) -> PortfolioAccumulation:
    """Limits and covered exposure of the whole book on ``as_of`` per ``dimension``; the caps' breaches on
    every dimension (a cap breached by a group shows whatever dimension is asked)."""
    require(actor, Permission.PORTFOLIO_READ)
    if not 0 <= top_n <= MAX_TOP:
        raise InvalidInput(f"top must be from 0 to {MAX_TOP}", code="accumulation.invalid_top", field="top")
    lines = book_lines(uow, as_of)
    found: list[Breach] = []
    for each in Dimension:
        if any(c.dimension is each for c in caps):
            for book in totals(lines, each):
                found += breaches(book, caps)
    return PortfolioAccumulation(
        as_of=as_of,
        dimension=dimension,
        top_n=top_n,
        caps=tuple(caps),
        books=tuple(totals(lines, dimension)),
        breaches=tuple(found),
        lines=len(lines),
    )


def _share_text(share: Decimal | None) -> str:
    return "" if share is None else str(share.quantize(Decimal("0.000001"), ROUND_HALF_UP))


def accumulation_rows(result: PortfolioAccumulation) -> list[list[str]]:
    """One row per key of the dimension and currency (largest covered exposure first), under
    :data:`ACCUMULATION_CSV_HEADER`: ``share`` is the key's share of the covered exposure, ``cap`` the caps
    that bound it (each with its amount in this book), ``breach`` the largest excess over a cap (empty when
    none is breached)."""
    rows: list[list[str]] = []
    for book in result.books:
        excess: dict[str, Money] = {}
        for breach in result.breaches_of(result.dimension):
            if breach.currency == book.currency:
                known = excess.get(breach.key)
                excess[breach.key] = breach.excess if known is None else Money.max_of(known, breach.excess)
        for item in book.concentrations:
            bounds = [
                f"{cap.describe()} = {cap.cap_amount(book.total(cap.measure)).quantize_str()}"
                for cap in applicable_caps(result.caps, book.dimension, item.key, book.currency)
            ]
            over = excess.get(item.key)
            rows.append(
                [
                    book.dimension.value,
                    item.key,
                    item.name,
                    item.limit_amount.quantize_str(),
                    item.covered_exposure_amount.quantize_str(),
                    book.currency,
                    _share_text(item.covered_exposure_share),
                    "; ".join(bounds),
                    "" if over is None else over.quantize_str(),
                ]
            )
    return rows


def accumulation_csv(result: PortfolioAccumulation) -> bytes:
    """The rows of :func:`accumulation_rows` as a spreadsheet CSV (UTF-8 with BOM, ``;``, formula-safe)."""
    return csv_bytes(ACCUMULATION_CSV_HEADER, accumulation_rows(result))


# --- The live book ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveObligor:
    """One buyer of the live book: what the loss model reads (``obligor_id``, ``ead``, ``pd``, ``lgd``,
    ``sector``, ``country``), and, for people, its name, limits and whether it was graded.

    ``ead`` (exposure at default) is the buyer's covered exposure summed over every policy, in the book's
    currency, to the cent: the limit × its usage, since covered exposure is min(outstanding, limit).
    ``pd`` is the buyer's current one-year PD (the grading model's, else its grade's); an ungraded buyer
    gets the PD of :data:`UNGRADED_GRADE`.
    """

    obligor_id: str
    name: str
    ead: Decimal
    pd: Decimal
    lgd: Decimal
    sector: str
    country: str
    limit_amount: Decimal  # granted limits in force, summed over policies, book currency
    graded: bool

    @property
    def expected_loss(self) -> Decimal:
        return self.ead * self.pd * self.lgd


def _lgd(value: Decimal) -> Decimal:
    if isinstance(value, float | bool) or not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidInput("lgd must be a decimal from 0 to 1", code="portfolio.invalid_lgd", field="lgd")
    if not 0 <= value <= 1:
        raise InvalidInput(f"lgd must be from 0 to 1, got {value}", code="portfolio.invalid_lgd", field="lgd")
    return value


def live_book(
    uow: UnitOfWork,
    actor: Actor,
    as_of: date,
    lgd_rate: Decimal = DEFAULT_LGD_RATE,
    *,
    currency: str = "EUR",
) -> list[LiveObligor]:
    """One row per buyer in the book on ``as_of`` (a granted limit in force or covered exposure under some
    policy), sorted by buyer id. Policies in another currency are converted to ``currency`` at the latest
    reference rate on ``as_of``; without one the book is refused (``portfolio.no_exchange_rate``)."""
    require(actor, Permission.PORTFOLIO_READ)
    lgd = _lgd(lgd_rate)
    book_currency = check_currency(currency)
    pairs = _pairs(uow, as_of)
    buyers, _ = _buyers(uow, pairs)
    rates = RateBook(uow, book_currency, as_of)
    ead: dict[str, int] = defaultdict(int)
    limits: dict[str, int] = defaultdict(int)
    for pair in pairs:
        for amount, into in ((pair.covered, ead), (pair.limit, limits)):
            converted = rates.convert_minor(amount.round().to_minor(), amount.currency)
            if converted is None:
                raise RuleBroken(
                    f"no reference rate from {amount.currency} to {book_currency} on or before {as_of}: "
                    "load one with 'tradecover ledger rates'",
                    code="portfolio.no_exchange_rate",
                    field="currency",
                    context={"from": amount.currency, "to": book_currency},
                )
            into[pair.buyer_id] += converted
    rows: list[LiveObligor] = []
    for buyer_id in sorted(ead):
        buyer = buyers[buyer_id]
        pd = buyer.probability_of_default
        rows.append(
            LiveObligor(
                obligor_id=buyer_id,
                name=buyer.legal_name,
                ead=Money.from_minor(ead[buyer_id], book_currency).amount,
                pd=pd if pd is not None else DEFAULT_GRADE_SCALE.pd_of(UNGRADED_GRADE),
                lgd=lgd,
                sector=sector_of(buyer),
                country=buyer.country,
                limit_amount=Money.from_minor(limits[buyer_id], book_currency).amount,
                graded=pd is not None,
            )
        )
    return rows


def live_book_csv(rows: Sequence[LiveObligor]) -> bytes:
    """The live book as the loss model's input: UTF-8 without BOM, ``,``-separated, ``\\n`` line ends, the
    columns of :data:`BOOK_CSV_HEADER` only; decimals written exactly (ead to the cent)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BOOK_CSV_HEADER)
    for row in rows:
        writer.writerow([row.obligor_id, f"{row.ead:f}", f"{row.pd:f}", f"{row.lgd:f}", row.sector, row.country])
    return buffer.getvalue().encode("utf-8")

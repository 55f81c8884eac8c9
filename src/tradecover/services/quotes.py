"""Quotes (DOMAIN.md §2 step 0): apply, price, revise, issue the policy; read and list.

The insured applies for itself (or its broker with an ``act`` mandate, or the insurer's staff for
it); underwriters revise the terms and issue the policy. Another tenant's quote is *not found*,
exactly as a nonexistent one. The use cases write through the unit of work and leave the commit to
their caller (the route or the command), so a refused action writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from typing import Any

from tradecover.domain.errors import InvalidInput
from tradecover.domain.parties import OrganisationKind
from tradecover.domain.periods import Clock
from tradecover.domain.policies import Policy, TermsVersion
from tradecover.domain.quotes import (
    DEFAULT_PRICING,
    SECTION_DIVISIONS,
    PricingSettings,
    Quote,
    QuoteApplication,
    QuoteStatus,
    QuoteVersion,
    check_can_issue,
    check_start_date,
    first_version,
    parse_application,
    price_application,
    quote_status,
    revise_version,
)
from tradecover.ingest.reference_codes import naf_codes
from tradecover.services import policies
from tradecover.services.authorization import (
    Actor,
    Permission,
    ensure_can_act,
    ensure_can_read,
    not_found,
    require,
    visible_organisations,
)
from tradecover.services.ports import Page, UnitOfWork
from tradecover.services.recording import new_id, record


@dataclass(frozen=True)
class QuoteView:
    """A quote with every version (oldest first) and its state today."""

    quote: Quote
    versions: list[QuoteVersion]
    status: QuoteStatus

    @property
    def latest(self) -> QuoteVersion:
        return self.versions[-1]


@dataclass(frozen=True)
class QuoteSummary:
    quote: Quote
    latest: QuoteVersion
    status: QuoteStatus


@dataclass(frozen=True)
class IssuedQuote:
    view: QuoteView
    policy: Policy
    terms: TermsVersion


def _load(uow: UnitOfWork, actor: Actor, quote_id: str, *, lock: bool = False) -> tuple[Quote, list[QuoteVersion]]:
    quote = uow.quotes.get_quote(quote_id, lock=lock)
    if quote is None:
        raise not_found("quote", quote_id)
    ensure_can_read(actor, quote.policyholder_id, "quote", quote_id)
    versions = uow.quotes.versions_of(quote.id)
    return quote, versions


def _summary(version: QuoteVersion) -> dict[str, Any]:
    terms = version.terms
    return {
        "version": version.version,
        "valid_until": version.valid_until.isoformat(),
        "domestic_rate": str(terms.premium_rates.domestic_rate),
        "export_rate": str(terms.premium_rates.export_rate),
        "expected_premium": version.expected_premium.quantize_str(),
        "minimum_premium": None if terms.minimum_premium is None else terms.minimum_premium.quantize_str(),
        "currency": terms.currency,
        "referral_reasons": [r.value for r in version.referral_reasons],
    }


_NAF_FORM = re.compile(r"^([0-9]{2})(?:\.?([0-9]{1,2})([A-Z])?)?$")


@cache
def _naf_known() -> frozenset[str]:
    """Every NAF rév. 2 sub-class (``46.69B``) and the class, group and division it belongs to."""
    known: set[str] = set()
    for entry in naf_codes():
        code = entry.code
        known.update({code, code[:5], code[:4], code[:2]})
    return frozenset(known)


def check_naf_code(sector: str) -> None:
    """A sector given as a code must be one of the NAF rév. 2 list (``99.99Q`` has the shape, not the
    existence): ``quote.invalid_sector`` otherwise. A section letter is checked by the domain."""
    text = sector.strip().upper()
    if text in SECTION_DIVISIONS:
        return
    match = _NAF_FORM.match(text)
    canonical = None
    if match:
        division, rest, letter = match.group(1), match.group(2) or "", match.group(3) or ""
        canonical = division + ("." + rest if rest else "") + letter
    if canonical is None or canonical not in _naf_known():
        raise InvalidInput(
            f"{sector!r} is not a NAF rév. 2 code: give a section letter A..U, a division (46), group (46.6),"
            " class (46.69) or sub-class (46.69B) of the INSEE list",
            code="quote.invalid_sector",
            field="sector",
        )


def request_quote(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    *,
    policyholder_id: str,
    application: Mapping[str, Any] | QuoteApplication,
    pricing: PricingSettings = DEFAULT_PRICING,
) -> QuoteView:
    """Apply for a policy: the engine prices the application and proposes version 1 of the quote.

    The engine may refer the quote (buyers not coverable, loss history above its cap, expected loss
    above the appetite): version 1 then carries its ``referral_reasons`` and cannot be issued
    before an underwriter revises it.
    ``application`` is plain data (see :func:`~tradecover.domain.quotes.parse_application`) or an
    already validated application.
    """
    require(actor, Permission.QUOTE_REQUEST)
    # Tenancy first: another tenant's organisation is not found, exactly as a nonexistent one.
    ensure_can_act(actor, policyholder_id, "organisation", policyholder_id)
    holder = uow.organisations.get(policyholder_id)
    if holder is None:
        raise not_found("organisation", policyholder_id)
    if holder.kind is not OrganisationKind.POLICYHOLDER:
        raise InvalidInput("quotes are for policyholders", code="quote.not_a_policyholder", field="policyholder_id")
    today = clock.today()
    app = application if isinstance(application, QuoteApplication) else parse_application(application, on=today)
    check_naf_code(app.sector)
    proposal = price_application(app, policyholder_country=holder.country, settings=pricing)
    now = clock.now()
    by = actor.audit_label(holder.id)
    quote = Quote(
        id=new_id(),
        reference=f"QUO-{today.year}-{uow.quotes.next_sequence(today.year):06d}",
        policyholder_id=holder.id,
        application=app,
        requested_on=today,
        created_by=by,
        created_at=now,
    )
    version = first_version(quote, proposal, today=today, validity_days=pricing.validity_days, by=by, at=now)
    uow.quotes.add_quote(quote)
    uow.quotes.add_version(version)
    record(
        uow,
        clock,
        actor,
        tenant=holder.id,
        action="quote.proposed",
        object_type="quote",
        object_id=quote.id,
        summary={
            "reference": quote.reference,
            "turnover_domestic": app.domestic_turnover.quantize_str(),
            "turnover_export": app.export_turnover.quantize_str(),
            "sector": app.sector,
            "buyers": len(app.buyers),
            "expected_loss": proposal.expected_loss.quantize_str(),
            "after": _summary(version),
        },
    )
    return QuoteView(quote, [version], QuoteStatus.PROPOSED)


def revise_quote(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    quote_id: str,
    *,
    changes: Mapping[str, Any],
    reason: str,
    pricing: PricingSettings = DEFAULT_PRICING,
) -> QuoteView:
    """An underwriter's adjustment: the next version, with any terms changed (validated as policy
    terms) and a reason; valid again from today. Earlier versions stay."""
    require(actor, Permission.QUOTE_DECIDE)
    quote, versions = _load(uow, actor, quote_id, lock=True)
    latest = versions[-1]
    today = clock.today()
    version = revise_version(
        quote,
        latest,
        changes,
        reason=reason,
        today=today,
        validity_days=pricing.validity_days,
        by=actor.audit_label(),
        at=clock.now(),
    )
    uow.quotes.add_version(version)
    diff = version.terms.changes_from(latest.terms)
    record(
        uow,
        clock,
        actor,
        tenant=quote.policyholder_id,
        action="quote.revised",
        object_type="quote",
        object_id=quote.id,
        summary={
            "reference": quote.reference,
            "version": version.version,
            "before": {k: v[0] for k, v in diff.items()},
            "after": {k: v[1] for k, v in diff.items()},
            "expected_premium": version.expected_premium.quantize_str(),
            "valid_until": version.valid_until.isoformat(),
        },
        reason=version.reason,
    )
    return QuoteView(quote, [*versions, version], QuoteStatus.PROPOSED)


def issue_policy_from_quote(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    quote_id: str,
    *,
    start_date: date,
    version: int | None = None,
) -> IssuedQuote:
    """Issue the policy on the latest version's terms from ``start_date``; the quote records it.

    Refused when the quote expired (``quote.expired``), was already issued (``quote.already_issued``),
    ``version`` is not the latest (``quote.stale_version``), the engine referred it and no
    underwriter revised it yet (``quote.referral_unresolved``), or ``start_date`` is not between the
    latest version's date − 90 days and + 365 days (``quote.start_date_out_of_range``). The quote
    row is locked, so two underwriters cannot issue it twice; the policy and the quote's issue
    commit together.
    """
    require(actor, Permission.QUOTE_DECIDE)
    quote, versions = _load(uow, actor, quote_id, lock=True)
    latest = versions[-1]
    today = clock.today()
    check_can_issue(quote, latest, today, version)
    check_start_date(latest, start_date)
    policy, terms = policies.issue_policy(
        uow,
        clock,
        actor,
        policyholder_id=quote.policyholder_id,
        start_date=start_date,
        currency=quote.application.currency,
        terms=latest.terms.to_dict(),
        reason=f"issued from quote {quote.reference}, version {latest.version}",
        commit=False,
    )
    now = clock.now()
    uow.quotes.mark_issued(
        quote.id, policy_id=policy.id, version=latest.version, on=today, by=actor.audit_label(), at=now
    )
    record(
        uow,
        clock,
        actor,
        tenant=quote.policyholder_id,
        action="quote.issued",
        object_type="quote",
        object_id=quote.id,
        summary={
            "reference": quote.reference,
            "version": latest.version,
            "policy_id": policy.id,
            "policy_number": policy.number,
            "start_date": start_date.isoformat(),
            "referral_reasons": [r.value for r in latest.referral_reasons],
        },
    )
    issued = replace(
        quote,
        issued_policy_id=policy.id,
        issued_version=latest.version,
        issued_on=today,
        issued_by=actor.audit_label(),
        issued_at=now,
    )
    return IssuedQuote(QuoteView(issued, versions, QuoteStatus.ISSUED), policy, terms)


def get_quote(uow: UnitOfWork, clock: Clock, actor: Actor, quote_id: str) -> QuoteView:
    quote, versions = _load(uow, actor, quote_id)
    return QuoteView(quote, versions, quote_status(quote, versions[-1], clock.today()))


def list_quotes(
    uow: UnitOfWork, clock: Clock, actor: Actor, *, policyholder_id: str | None = None, page: Page
) -> tuple[list[QuoteSummary], int]:
    """The quotes the actor may read, newest first; ``policyholder_id`` narrows to one insured."""
    visible = visible_organisations(actor)
    if policyholder_id is not None:
        ensure_can_read(actor, policyholder_id, "organisation", policyholder_id)
        visible = frozenset({policyholder_id})
    items, total = uow.quotes.list_quotes(visible, offset=page.offset, limit=page.limit)
    today = clock.today()
    return [QuoteSummary(q, v, quote_status(q, v, today)) for q, v in items], total

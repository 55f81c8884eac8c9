"""The settlement statement (décompte) and the recovery statements of a claim, as PDF."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from tradecover.documents.pdf_layout import Party
from tradecover.documents.recovery_statement import RecoveryStatementView, render_recovery_statement
from tradecover.documents.settlement_statement import (
    Payee,
    SettlementStatementView,
    StatementInvoice,
    StatementLine,
    render_settlement_statement,
)
from tradecover.domain.buyers import Buyer
from tradecover.domain.claims import Claim, SettlementStatus
from tradecover.domain.errors import NotFound
from tradecover.domain.identifiers import IdentifierKind
from tradecover.domain.money import Money
from tradecover.domain.periods import Clock
from tradecover.domain.policies import Policy
from tradecover.services.authorization import Actor
from tradecover.services.claims import claim_and_policy, compute, statement_json
from tradecover.services.factoring_views import claim_of_factor
from tradecover.services.overdues import policy_today
from tradecover.services.ports import UnitOfWork

Language = Literal["fr", "en"]


def _parties(uow: UnitOfWork, claim: Claim, policy: Policy) -> tuple[Party, Party]:
    holder = uow.organisations.get(policy.policyholder_id)
    buyer: Buyer | None = uow.buyers.get(claim.buyer_id)
    insured = Party(
        name=holder.name if holder else policy.policyholder_id,
        address_lines=(holder.country,) if holder else (),
        identifier=None if holder is None or holder.siren is None else f"SIREN {holder.siren}",
    )
    if buyer is None:
        return insured, Party(claim.buyer_id)
    siren = buyer.identifier(IdentifierKind.SIREN)
    lines = tuple(x for x in (buyer.city, buyer.country) if x)
    return insured, Party(buyer.legal_name, lines, None if siren is None else f"SIREN {siren}")


def _money(value: Any, currency: str) -> Money:
    return Money.of(str(value), currency)


def _statement_data(
    uow: UnitOfWork, clock: Clock, claim: Claim, policy: Policy
) -> tuple[dict[str, Any], str, tuple[str, ...], date]:
    """(statement, status, approvals, date) of the latest settlement as it was computed; before any, a
    preview as of today."""
    settlements = uow.claims.settlements_of(claim.id)
    if not settlements:
        on = policy_today(uow, clock, policy)
        return statement_json(compute(uow, claim, policy, on), "pending"), "pending", (), on
    latest = settlements[-1]
    approvals: tuple[str, ...] = ()
    if latest.status is SettlementStatus.SETTLED:
        approvals = (_person(uow, latest.computed_by),)
        if latest.approved_by:
            approvals += (_person(uow, latest.approved_by),)
    return dict(latest.statement), latest.status.value, approvals, latest.computed_on


INSURED_PAYEE = "insured"


def _of_payee(invoice: Mapping[str, Any], payee: str | None) -> bool:
    """Whether a statement invoice is ``payee``'s: the insured's unless assigned, a factor's if assigned to it."""
    if payee is None:
        return True
    if payee == INSURED_PAYEE:
        return not invoice.get("factor")
    return invoice.get("factor_id") == payee


def _payee_matches(p: Mapping[str, Any], payee: str | None) -> bool:
    if payee is None:
        return True
    if payee == INSURED_PAYEE:
        return p.get("role") == "insured"
    return p.get("role") == "factor" and p.get("id") == payee


def _render(
    uow: UnitOfWork, clock: Clock, claim: Claim, policy: Policy, language: Language, payee: str | None
) -> bytes:
    """The statement of the whole claim, or of one payee: only its invoices, its share and how it was made."""
    data, status, approvals, statement_date = _statement_data(uow, clock, claim, policy)
    cur = str(data["currency"])
    insured, buyer = _parties(uow, claim, policy)
    invoices = [i for i in data["invoices"] if _of_payee(i, payee)]
    if payee not in (None, INSURED_PAYEE) and not invoices:
        raise NotFound(
            f"no invoice of claim {claim.reference} is assigned to {payee}",
            code="claim.payee_not_found",
            field="payee",
            context={"payee": payee},
        )
    lines = [
        StatementLine(
            code=line["code"],
            label=line["label"],
            rule=line["rule"],
            amount=None if line["amount"] is None else _money(line["amount"], cur),
            emphasis=line["code"] in ("loss", "covered_loss", "indemnity"),
            params=tuple(sorted((str(k), str(v)) for k, v in (line.get("params") or {}).items())),
        )
        for line in data["lines"]
    ]
    payees = [
        Payee(insured.name if p["role"] == "insured" else p["name"], p["role"], _money(p["amount"], cur))
        for p in data["payees"]
        if _payee_matches(p, payee)
    ]
    if payee is not None:
        share = sum((p.amount for p in payees), Money.zero(cur))
        unpaid = sum((_money(i["unpaid_excl_vat"], cur) for i in invoices), Money.zero(cur))
        claim_unpaid = sum((_money(i["unpaid_excl_vat"], cur) for i in data["invoices"]), Money.zero(cur))
        indemnity = _money(data["indemnity_amount"], cur)
        lines.append(
            StatementLine(
                code="payee_share",
                label="Share of this payee",
                rule=(
                    f"indemnity {indemnity.quantize_str()} × {unpaid.quantize_str()} unpaid on this payee's "
                    f"invoices / {claim_unpaid.quantize_str()} unpaid on the claim's, to the cent (largest remainder)"
                ),
                amount=share,
                emphasis=True,
                params=(
                    ("claim_unpaid", claim_unpaid.quantize_str()),
                    ("indemnity", indemnity.quantize_str()),
                    ("unpaid", unpaid.quantize_str()),
                ),
            )
        )
    view = SettlementStatementView(
        claim_reference=claim.reference,
        policy_number=policy.number,
        statement_date=statement_date,
        insured=insured,
        buyer=buyer,
        cause=str(data["cause"]),
        date_of_loss=_date(data["date_of_loss"]),
        currency=cur,
        invoices=tuple(
            StatementInvoice(
                number=i["number"],
                issue_date=_date(i["issue_date"]),
                due_date=_date(i["due_date"]),
                amount_excl_vat=_money(i["amount_excl_vat"], cur),
                unpaid_excl_vat=_money(i["unpaid_excl_vat"], cur),
                note=None if not i.get("factor") else f"factor: {i['factor']}",
            )
            for i in invoices
        ),
        lines=tuple(lines),
        indemnity=_money(data["indemnity_amount"], cur),
        payees=tuple(payees),
        status=status,
        approvals=approvals,
    )
    return render_settlement_statement(view, language)


def settlement_statement_pdf(
    uow: UnitOfWork, clock: Clock, actor: Actor, claim_id: str, *, language: Language
) -> tuple[bytes, str]:
    """The latest settlement's statement as it was computed; before any, a preview as of today."""
    claim, policy = claim_and_policy(uow, actor, claim_id)
    return _render(uow, clock, claim, policy, language, None), f"{claim.reference}-statement-{language}.pdf"


def _payee_file(claim: Claim, payee: str, language: str) -> str:
    who = INSURED_PAYEE if payee == INSURED_PAYEE else "factor-" + "".join(c for c in payee if c.isalnum())[:12]
    return f"{claim.reference}-statement-{who}-{language}.pdf"


def payee_statement_pdf(
    uow: UnitOfWork, clock: Clock, actor: Actor, claim_id: str, payee: str, *, language: Language
) -> tuple[bytes, str]:
    """One payee's statement (``"insured"`` or a factor organisation's id), for whoever reads the claim:
    its invoices only, and its share of the indemnity."""
    claim, policy = claim_and_policy(uow, actor, claim_id)
    return _render(uow, clock, claim, policy, language, payee), _payee_file(claim, payee, language)


def factor_statement_pdf(
    uow: UnitOfWork, clock: Clock, actor: Actor, claim_id: str, *, language: Language
) -> tuple[bytes, str]:
    """The factor's own statement of a claim on invoices assigned to it."""
    claim, policy = claim_of_factor(uow, actor, claim_id)
    payee = actor.organisation_id
    return _render(uow, clock, claim, policy, language, payee), _payee_file(claim, payee, language)


def recovery_statement_pdf(
    uow: UnitOfWork, actor: Actor, claim_id: str, recovery_id: str, *, language: Language
) -> tuple[bytes, str]:
    claim, policy = claim_and_policy(uow, actor, claim_id)
    recovery = next((r for r in uow.claims.recoveries_of(claim.id) if r.id == recovery_id), None)
    settled = [s for s in uow.claims.settlements_of(claim.id) if s.status is SettlementStatus.SETTLED]
    if recovery is None or not settled:
        raise NotFound(f"recovery {recovery_id} not found", code="recovery.not_found", context={"id": recovery_id})
    settlement = settled[-1]
    insured, buyer = _parties(uow, claim, policy)
    view = RecoveryStatementView(
        claim_reference=claim.reference,
        policy_number=policy.number,
        statement_date=recovery.received_on,
        insured=insured,
        buyer=buyer,
        recovery_date=recovery.received_on,
        recovery=recovery.amount,
        loss=settlement.loss,
        indemnity=settlement.indemnity,
        insurer_share=recovery.insurer_share,
        insured_share=recovery.insured_share,
        rule=recovery.rule,
    )
    return render_recovery_statement(
        view, language
    ), f"{claim.reference}-recovery-{recovery.received_on}-{language}.pdf"


def _date(value: Any) -> date:
    return date.fromisoformat(str(value))


def _person(uow: UnitOfWork, label: str) -> str:
    """The name of the user an audit label (``user:<id> via …``) names; the label itself otherwise."""
    head = label.split(" ", 1)[0]
    if head.startswith("user:"):
        user = uow.users.get(head.removeprefix("user:"))
        if user is not None:
            return user.full_name
    return label

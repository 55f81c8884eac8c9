"""Every route of the OpenAPI schema × every role × {own tenant, other tenant, nonexistent id}.

A role limited to its tenant must get, for another tenant's object, exactly
what it gets for an id that does not exist (same status, same code), never a
2xx; lists and reports (invoices, exposure, alerts, subscriptions, deliveries)
must never show another tenant's objects. A route this matrix does not
classify fails the test, so new routes must be classified here.

Writes on an insured's data need a broker's mandate with the ``act`` scope:
B's broker, whose mandate is read-only, reads what a mandated broker reads
and writes nothing (``test_a_read_only_mandate_reads_but_never_writes``).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from api_world import (
    READ_ONLY_BROKER,
    WORLD_CONTAINERS,
    ClaimSide,
    World,
    add_claims,
    add_collection,
    add_premium,
    add_quotes,
    add_receivables,
    awaiting_settlement,
    build_world,
    claimable_buyer,
    claims_of,
    collection_of,
    direct_claim,
    overdue_invoice,
    premium_of,
    quote_application,
    quotes_of,
    reopened_case,
)
from fastapi.testclient import TestClient

from tradecover.bootstrap import Container

STAFF = {"admin", "underwriter", "claims_handler", "collector", "risk_manager"}
TENANT_ROLES = {"insured_user", "broker_user", "factor_user"}
ROLES = sorted(STAFF | TENANT_ROLES)
READERS_OF_A = STAFF | {"insured_user", "broker_user"}  # the broker holds a mandate from A
WRITERS = {"admin", "underwriter"}
TARGETS = ("own", "other", "missing")
_counter = itertools.count(1)


@dataclass
class Ctx:
    client: TestClient
    world: World
    headers: dict[str, dict[str, str]]


# A target builder returns (url, json body or None) for one role and one target.
Target = Callable[[Ctx, str, str], tuple[str, dict[str, Any] | None]]


@dataclass
class Rule:
    allowed: set[str]  # roles expecting 2xx on their own target
    target: Target | None = None  # None: not tenant-scoped
    path: str = ""
    listed_foreign: Callable[[World], set[str]] | None = None  # ids others must never list
    body: Callable[[Ctx, str], dict[str, Any]] | None = None
    public: bool = False
    files: Callable[[Ctx, str], dict[str, Any]] | None = None
    target_files: Callable[[Ctx, str, str], dict[str, Any]] | None = None  # (ctx, role, target) -> files
    writes: bool | None = None  # needs an "act" mandate; default: every method but GET


def _pick(which: str, own: str, other: str) -> str:
    return {"own": own, "other": other, "missing": str(uuid.uuid4())}[which]


def path_target(
    template: str,
    own: Callable[[World], str],
    other: Callable[[World], str],
    body: Callable[[Ctx, str], dict[str, Any]] | None = None,
) -> Target:
    def build(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any] | None]:
        value = _pick(which, own(ctx.world), other(ctx.world))
        return template.format(id=value), body(ctx, role) if body else None

    return build


def body_target(
    url: str,
    field: str,
    own: Callable[[World], str],
    other: Callable[[World], str],
    body: Callable[[Ctx, str], dict[str, Any]],
) -> Target:
    def build(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any] | None]:
        data = body(ctx, role)
        data[field] = _pick(which, own(ctx.world), other(ctx.world))
        return url, data

    return build


def own_key_target(ctx: Ctx, role: str, which: str) -> tuple[str, None]:
    if which == "own":
        created = ctx.client.post("/api/v1/api-keys", json={"name": "matrix"}, headers=ctx.headers[role])
        assert created.status_code == 201, created.text
        return f"/api/v1/api-keys/{created.json()['id']}", None
    if which == "other":
        created = ctx.client.post("/api/v1/api-keys", json={"name": "victim"}, headers=ctx.headers["insured_user_b"])
        return f"/api/v1/api-keys/{created.json()['id']}", None
    return f"/api/v1/api-keys/{uuid.uuid4()}", None


def renewal_target(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any]]:
    """A fresh policy of the target tenant each time: a policy is renewed once per running year."""
    holder = {"own": ctx.world.insured_a, "other": ctx.world.insured_b}.get(which)
    if holder is None:
        return f"/api/v1/policies/{uuid.uuid4()}/renewals", {"reason": "matrix renewal"}
    issued = ctx.client.post(
        "/api/v1/policies",
        json={"policyholder_id": holder, "start_date": "2026-01-01"},
        headers=ctx.headers["admin"],
    )
    assert issued.status_code == 201, issued.text
    return f"/api/v1/policies/{issued.json()['id']}/renewals", {"reason": "matrix renewal"}


def new_siren() -> str:
    from tradecover.domain.identifiers import generate_siren

    return generate_siren(40_000_000 + next(_counter))


def _policy_a(w: World) -> str:
    return w.policy_a


def _policy_b(w: World) -> str:
    return w.policy_b


def limit_target(suffix: str, *, revision: bool = False) -> Target:
    """/policies/{policy}/limits/{buyer}: A's pair, B's pair, or a nonexistent policy."""

    def build(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any] | None]:
        pairs = {"own": (ctx.world.policy_a, ctx.world.buyer_a), "other": (ctx.world.policy_b, ctx.world.buyer_b)}
        policy, buyer = pairs.get(which, (str(uuid.uuid4()), ctx.world.buyer_a))
        body = None
        if revision:
            body = {"amount": {"amount": str(15000 - 10 * next(_counter)), "currency": "EUR"}, "reason": "matrix"}
        return f"/api/v1/policies/{policy}/limits/{buyer}{suffix}", body

    return build


def referral_target(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any]]:
    """A fresh referral (above the automatic ceiling) of the target tenant each time."""
    body = {"status": "partially_approved", "amount": {"amount": "100000", "currency": "EUR"}, "reason": "matrix"}
    pairs = {"own": (ctx.world.policy_a, ctx.world.buyer_a), "other": (ctx.world.policy_b, ctx.world.buyer_b)}
    if which not in pairs:
        return f"/api/v1/limit-requests/{uuid.uuid4()}/decision", body
    policy, buyer = pairs[which]
    referred = ctx.client.post(
        f"/api/v1/policies/{policy}/limit-requests",
        json={"buyer_id": buyer, "amount": {"amount": "600000", "currency": "EUR"}},
        headers=ctx.headers["admin"],
    )
    assert referred.status_code == 201, referred.text
    assert referred.json()["status"] == "referred", referred.text
    return f"/api/v1/limit-requests/{referred.json()['id']}/decision", body


def _buyer_a(w: World) -> str:
    return w.buyer_a


def _buyer_b(w: World) -> str:
    return w.buyer_b


def a(w: World) -> str:
    return w.insured_a


def b(w: World) -> str:
    return w.insured_b


# --------------------------------------------------------------------------------------------- receivables

API = "/api/v1"
POLICY = API + "/policies/{policy_id}"
RECEIVABLES_DAY = "2026-03-14"


def ledger_of(ctx: Ctx, which: str) -> tuple[str, str]:
    """(policy, buyer) of the target: A's, B's, or a nonexistent policy (with A's buyer)."""
    w = ctx.world
    if which == "own":
        return w.policy_a, w.buyer_a
    if which == "other":
        return w.policy_b, w.buyer_b
    return str(uuid.uuid4()), w.buyer_a


def invoice_body(buyer_id: str, number: str) -> dict[str, Any]:
    return {
        "buyer_id": buyer_id,
        "number": number,
        "issue_date": "2026-03-02",
        "due_date": "2026-04-30",
        "amount_excl_vat": {"amount": "100.00", "currency": "EUR"},
        "vat_amount": {"amount": "20.00", "currency": "EUR"},
    }


def fresh_invoice(ctx: Ctx, which: str, *, disputed: bool = False) -> tuple[str, str]:
    """A new invoice (number, id) of the target's ledger, recorded by an administrator; made up if missing."""
    policy, buyer = ledger_of(ctx, which)
    number = f"M-{next(_counter)}"
    if which == "missing":
        return number, str(uuid.uuid4())
    admin = ctx.headers["admin"]
    created = ctx.client.post(f"{API}/policies/{policy}/invoices", json=invoice_body(buyer, number), headers=admin)
    assert created.status_code == 201, created.text
    if disputed:
        opened = ctx.client.post(
            f"{API}/policies/{policy}/disputes",
            json={"buyer_id": buyer, "invoice": number, "date": RECEIVABLES_DAY},
            headers=admin,
        )
        assert opened.status_code == 201, opened.text
    return number, str(created.json()["id"])


def policy_target(
    suffix: str,
    body: Callable[[Ctx, str, str], dict[str, Any]] | None = None,
) -> Target:
    """/policies/{policy}{suffix} of the target; ``body(ctx, which, buyer)`` names the target's own buyer."""

    def build(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any] | None]:
        policy, buyer = ledger_of(ctx, which)
        return f"{API}/policies/{policy}{suffix}", body(ctx, which, buyer) if body else None

    return build


def ledger_invoice_target(suffix: str, body: Callable[[str, str], dict[str, Any]], *, disputed: bool = False) -> Target:
    """A route that acts on one invoice (opened once): a fresh invoice of the target each time."""

    def build(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any]]:
        policy, buyer = ledger_of(ctx, which)
        number, _ = fresh_invoice(ctx, which, disputed=disputed)
        return f"{API}/policies/{policy}{suffix}", body(buyer, number)

    return build


def reversal_target(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any]]:
    policy, _ = ledger_of(ctx, which)
    _, entry_id = fresh_invoice(ctx, which)
    return f"{API}/policies/{policy}/ledger-entries/{entry_id}/reversal", {"reason": "matrix"}


def subscription_target(ctx: Ctx, role: str, which: str) -> tuple[str, None]:
    """A fresh subscription of the target's policy each time (an unsubscribed one stays unsubscribed)."""
    policy, _ = ledger_of(ctx, which)
    if which == "missing":
        return f"{API}/policies/{policy}/alert-subscriptions/{uuid.uuid4()}", None
    created = ctx.client.post(
        f"{API}/policies/{policy}/alert-subscriptions",
        json={"channel": "email", "target": f"gone{next(_counter)}@example.fr"},
        headers=ctx.headers["admin"],
    )
    assert created.status_code == 201, created.text
    return f"{API}/policies/{policy}/alert-subscriptions/{created.json()['id']}", None


def ledger_csv(ctx: Ctx, role: str, which: str) -> dict[str, Any]:
    """A one-invoice ledger CSV naming the target's own buyer by SIREN."""
    siren = {"other": "542051180"}.get(which, "552100554")  # world.buyer_b, else world.buyer_a
    header = "record_type,siren,number,issue_date,due_date,amount_excl_vat,vat_amount\n"
    line = f"invoice,{siren},CSV-{next(_counter)},2026-03-02,2026-04-30,100.00,20.00\n"
    return {"file": ("ledger.csv", header + line, "text/csv")}


_delegation_days = itertools.count()  # apart from _counter: other rows' figures depend on it


def delegation_body(ctx: Ctx) -> dict[str, Any]:
    """A one-day delegation of 2027 or later to the world's factor, never overlapping the previous ones."""
    start = date(2027, 1, 1) + timedelta(days=2 * next(_delegation_days))
    return {
        "factor_id": ctx.world.factor_id,
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=1)).isoformat(),
        "reason": "matrix",
    }


def factor_assignment_target(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any]]:
    """A fresh invoice assigned to the world's factor, which policy A delegates to (endorsed once, here)."""
    url = f"{API}/policies/{ctx.world.policy_a}/delegations"
    listed = ctx.client.get(url, headers=ctx.headers["admin"]).json()["items"]
    if not any(d["factor_id"] == ctx.world.factor_id and d["start_date"] == "2026-01-01" for d in listed):
        # 2026 only: the delegations row endorses periods of 2027 and later.
        body = {"factor_id": ctx.world.factor_id, "start_date": "2026-01-01", "end_date": "2027-01-01", "reason": "m"}
        assert ctx.client.post(url, json=body, headers=ctx.headers["admin"]).status_code == 201
    policy, buyer = ledger_of(ctx, which)
    number, _ = fresh_invoice(ctx, which)
    body = {"buyer_id": buyer, "invoice": number, "factor_id": ctx.world.factor_id, "date": "2026-03-15"}
    return f"{API}/policies/{policy}/factor-assignments", body


def buyer_pair_target(suffix: str) -> Target:
    """/policies/{policy}/buyers/{buyer}{suffix}: A's pair, B's pair, or a nonexistent policy."""

    def build(ctx: Ctx, role: str, which: str) -> tuple[str, None]:
        policy, buyer = ledger_of(ctx, which)
        return f"{API}/policies/{policy}/buyers/{buyer}{suffix}", None

    return build


def _foreign_ledger(*names: str) -> Callable[[World], set[str]]:
    return lambda w: {getattr(w.ledger("b"), n) for n in names}


RECEIVABLE_RULES: dict[tuple[str, str], Rule] = {
    ("GET", API + "/ledger/template.csv"): Rule(allowed=set(ROLES), public=True),  # static documentation
    ("POST", POLICY + "/invoices"): Rule(
        allowed=READERS_OF_A,
        target=policy_target("/invoices", lambda c, w, buyer: invoice_body(buyer, f"M-{next(_counter)}")),
    ),
    ("GET", POLICY + "/invoices"): Rule(
        allowed=READERS_OF_A, target=policy_target("/invoices"), listed_foreign=_foreign_ledger("invoice_id")
    ),
    ("POST", POLICY + "/payments"): Rule(
        allowed=READERS_OF_A,
        target=policy_target(
            "/payments",
            lambda c, w, buyer: {
                "buyer_id": buyer,
                "amount": {"amount": "10.00", "currency": "EUR"},
                "received_on": RECEIVABLES_DAY,
                "reference": f"MATRIX-{next(_counter)}",
            },
        ),
    ),
    ("GET", POLICY + "/payments"): Rule(
        allowed=READERS_OF_A, target=policy_target("/payments"), listed_foreign=_foreign_ledger("payment_id")
    ),
    ("POST", POLICY + "/disputes"): Rule(
        allowed=READERS_OF_A,
        target=ledger_invoice_target(
            "/disputes", lambda buyer, number: {"buyer_id": buyer, "invoice": number, "date": RECEIVABLES_DAY}
        ),
    ),
    ("POST", POLICY + "/disputes/resolutions"): Rule(
        allowed=READERS_OF_A,
        target=ledger_invoice_target(
            "/disputes/resolutions",
            lambda buyer, number: {"buyer_id": buyer, "invoice": number, "date": "2026-03-15"},
            disputed=True,
        ),
    ),
    ("GET", POLICY + "/disputes"): Rule(
        allowed=READERS_OF_A, target=policy_target("/disputes"), listed_foreign=_foreign_ledger("dispute_id")
    ),
    ("POST", POLICY + "/ledger-entries/{entry_id}/reversal"): Rule(allowed=READERS_OF_A, target=reversal_target),
    ("POST", POLICY + "/factor-assignments"): Rule(allowed=READERS_OF_A, target=factor_assignment_target),
    ("POST", POLICY + "/delegations"): Rule(
        allowed=WRITERS,
        target=policy_target(
            "/delegations",
            lambda c, w, buyer: delegation_body(c),
        ),
    ),
    ("GET", POLICY + "/delegations"): Rule(allowed=READERS_OF_A, target=policy_target("/delegations")),
    ("GET", API + "/factor/assignments"): Rule(allowed={"factor_user"}),
    ("GET", API + "/factor/claims"): Rule(allowed={"factor_user"}),
    ("POST", POLICY + "/ledger/imports"): Rule(
        allowed=READERS_OF_A, target=policy_target("/ledger/imports"), target_files=ledger_csv
    ),
    ("GET", POLICY + "/exposure"): Rule(
        allowed=READERS_OF_A,
        target=policy_target("/exposure?lines=true"),
        listed_foreign=lambda w: {w.buyer_b, w.ledger("b").invoice_id},
    ),
    ("GET", POLICY + "/aged-balance"): Rule(
        allowed=READERS_OF_A, target=policy_target("/aged-balance"), listed_foreign=lambda w: {w.buyer_b}
    ),
    ("GET", POLICY + "/buyers/{buyer_id}/payment-experience"): Rule(
        allowed=READERS_OF_A, target=buyer_pair_target("/payment-experience")
    ),
    ("POST", POLICY + "/order-checks"): Rule(
        allowed=READERS_OF_A,
        writes=False,  # without a reference an order check keeps nothing: a read
        target=policy_target(
            "/order-checks", lambda c, w, buyer: {"buyer_id": buyer, "amount": {"amount": "1000.00", "currency": "EUR"}}
        ),
    ),
    ("POST", API + "/exchange-rates"): Rule(
        allowed=WRITERS,
        body=lambda c, r: {"rates": [{"currency": "USD", "quote": "EUR", "on": "2026-03-13", "rate": "0.92"}]},
    ),
    ("GET", API + "/alerts/{alert_id}"): Rule(
        allowed=READERS_OF_A, target=path_target(API + "/alerts/{id}", lambda w: w.alert_a, lambda w: w.alert_b)
    ),
    ("POST", API + "/alerts/{alert_id}/state"): Rule(
        allowed=READERS_OF_A,
        target=path_target(
            API + "/alerts/{id}/state",
            lambda w: w.ledger("a").alert_id,
            lambda w: w.ledger("b").alert_id,
            body=lambda c, r: {"state": "seen"},
        ),
    ),
    ("GET", POLICY + "/alert-preferences"): Rule(allowed=READERS_OF_A, target=policy_target("/alert-preferences")),
    ("PUT", POLICY + "/alert-preferences"): Rule(
        allowed=READERS_OF_A,
        target=policy_target(
            "/alert-preferences", lambda c, w, buyer: {"utilisation_threshold": "0.85", "deadline_warning_days": 20}
        ),
    ),
    ("GET", POLICY + "/alert-subscriptions"): Rule(
        allowed=READERS_OF_A,
        target=policy_target("/alert-subscriptions"),
        listed_foreign=_foreign_ledger("subscription_id"),
    ),
    ("POST", POLICY + "/alert-subscriptions"): Rule(
        allowed=READERS_OF_A,
        target=policy_target(
            "/alert-subscriptions",
            lambda c, w, buyer: {"channel": "email", "target": f"matrix{next(_counter)}@example.fr"},
        ),
    ),
    ("DELETE", POLICY + "/alert-subscriptions/{subscription_id}"): Rule(
        allowed=READERS_OF_A, target=subscription_target
    ),
    ("GET", POLICY + "/alert-deliveries"): Rule(
        allowed=READERS_OF_A,
        target=policy_target("/alert-deliveries"),
        listed_foreign=_foreign_ledger("delivery_id", "alert_id"),
    ),
}


# --------------------------------------------------------------------------------------------- claims

NOTIFIERS = STAFF - {"underwriter", "risk_manager"} | {"insured_user", "broker_user"}  # overdue.notify
CLAIM_FILERS = {"admin", "claims_handler", "insured_user", "broker_user"}
SETTLERS = {"admin", "claims_handler"}


def _container(ctx: Ctx) -> Container:
    return WORLD_CONTAINERS[id(ctx.world)]


def overdue_target(suffix: str, body: Callable[[str, str], dict[str, Any]]) -> Target:
    """/policies/{policy}{suffix} with a fresh overdue invoice of the target each time."""

    def build(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any]]:
        if which == "missing":
            return f"{API}/policies/{uuid.uuid4()}{suffix}", body(ctx.world.buyer_a, "NONE")
        policy, buyer, number = overdue_invoice(_container(ctx), ctx.world, "a" if which == "own" else "b")
        return f"{API}/policies/{policy}{suffix}", body(buyer, number)

    return build


def claim_path(
    template: str, pick: Callable[[ClaimSide], str], *, second: Callable[[ClaimSide], str] | None = None
) -> Target:
    """A world claim (or one of its children) of the target: template has {id} and optionally {child}."""

    def build(ctx: Ctx, role: str, which: str) -> tuple[str, None]:
        if which == "missing":
            return template.format(id=uuid.uuid4(), child=uuid.uuid4()), None
        side = claims_of(ctx.world, "a" if which == "own" else "b")
        return template.format(id=pick(side), child=second(side) if second else ""), None

    return build


def new_claim_target(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any]]:
    if which == "missing":
        return f"{API}/claims", {"policy_id": str(uuid.uuid4()), "buyer_id": ctx.world.buyer_a}
    policy, buyer = claimable_buyer(_container(ctx), ctx.world, "a" if which == "own" else "b")
    return f"{API}/claims", {"policy_id": policy, "buyer_id": buyer}


def approval_target(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any]]:
    body = {"approve": False, "reason": "matrix: sent back"}
    if which == "missing":
        return f"{API}/claims/{uuid.uuid4()}/settlement/approval", body
    side = "a" if which == "own" else "b"
    claim = direct_claim(_container(ctx), ctx.world, side, claims_of(ctx.world, side).notification_id, "complete")
    awaiting_settlement(_container(ctx), claim)
    return f"{API}/claims/{claim}/settlement/approval", body


def claim_document(ctx: Ctx, role: str, which: str) -> dict[str, Any]:
    return {"file": ("delivery.pdf", b"%PDF-1.4 matrix", "application/pdf")}


CLAIM = API + "/claims/{claim_id}"
CLAIM_RULES: dict[tuple[str, str], Rule] = {
    ("POST", POLICY + "/overdue-notifications"): Rule(
        allowed=NOTIFIERS,
        target=overdue_target(
            "/overdue-notifications", lambda buyer, number: {"buyer_id": buyer, "invoices": [number]}
        ),
    ),
    ("GET", API + "/overdue-notifications"): Rule(
        allowed=set(ROLES), listed_foreign=lambda w: {claims_of(w, "b").notification_id}
    ),
    ("GET", API + "/overdue-notifications/{notification_id}"): Rule(
        allowed=READERS_OF_A,
        target=path_target(
            API + "/overdue-notifications/{id}",
            lambda w: claims_of(w, "a").notification_id,
            lambda w: claims_of(w, "b").notification_id,
        ),
    ),
    ("POST", POLICY + "/payment-term-extensions"): Rule(
        allowed=NOTIFIERS,
        target=overdue_target(
            "/payment-term-extensions",
            lambda buyer, number: {"buyer_id": buyer, "invoice_number": number, "new_due_date": "2026-03-20"},
        ),
    ),
    ("GET", POLICY + "/payment-term-extensions"): Rule(
        allowed=READERS_OF_A, target=policy_target("/payment-term-extensions")
    ),
    ("POST", API + "/claims"): Rule(allowed=CLAIM_FILERS, target=new_claim_target),
    ("GET", API + "/claims"): Rule(
        allowed=set(ROLES),
        listed_foreign=lambda w: {claims_of(w, "b").claim_id, claims_of(w, "b").settled_claim_id},
    ),
    ("GET", CLAIM): Rule(allowed=READERS_OF_A, target=claim_path(API + "/claims/{id}", lambda c: c.claim_id)),
    ("POST", CLAIM + "/documents"): Rule(
        allowed=CLAIM_FILERS,
        target=claim_path(API + "/claims/{id}/documents?kind=proof_of_delivery", lambda c: c.document_claim_id),
        target_files=claim_document,
    ),
    ("GET", CLAIM + "/documents/{document_id}"): Rule(
        allowed=READERS_OF_A,
        target=claim_path(
            API + "/claims/{id}/documents/{child}", lambda c: c.document_claim_id, second=lambda c: c.document_id
        ),
    ),
    ("GET", CLAIM + "/indemnity-preview"): Rule(
        allowed=READERS_OF_A, target=claim_path(API + "/claims/{id}/indemnity-preview", lambda c: c.claim_id)
    ),
    ("POST", CLAIM + "/settlement"): Rule(
        allowed=SETTLERS, target=claim_path(API + "/claims/{id}/settlement", lambda c: c.claim_id)
    ),
    ("POST", CLAIM + "/settlement/approval"): Rule(allowed=SETTLERS, target=approval_target),
    ("GET", CLAIM + "/statement.pdf"): Rule(
        allowed=READERS_OF_A, target=claim_path(API + "/claims/{id}/statement.pdf", lambda c: c.claim_id)
    ),
    ("GET", CLAIM + "/payees/{payee}/statement.pdf"): Rule(
        allowed=READERS_OF_A, target=claim_path(API + "/claims/{id}/payees/insured/statement.pdf", lambda c: c.claim_id)
    ),
    # A factor's statement of a claim on its invoices (the world has none: refused to everyone here;
    # tests/e2e/test_factoring_api.py reads one).
    ("GET", API + "/factor/claims/{claim_id}/statement.pdf"): Rule(
        allowed=set(), target=claim_path(API + "/factor/claims/{id}/statement.pdf", lambda c: c.claim_id)
    ),
    ("GET", CLAIM + "/recoveries/{recovery_id}/statement.pdf"): Rule(
        allowed=READERS_OF_A,
        target=claim_path(
            API + "/claims/{id}/recoveries/{child}/statement.pdf",
            lambda c: c.settled_claim_id,
            second=lambda c: c.recovery_id,
        ),
    ),
}

# --------------------------------------------------------------------------------------------- collection

COLLECTORS = {"admin", "collector", "claims_handler"}
CASES = API + "/collection-cases"
CASE_KEY = CASES + "/{case_id}"
TODAY = "2026-03-15"


def case_target(suffix: str, body: Callable[[Ctx, str], dict[str, Any]] | None = None) -> Target:
    return path_target(
        CASES + "/{id}" + suffix, lambda w: collection_of(w, "a").case_id, lambda w: collection_of(w, "b").case_id, body
    )


def closure_target(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any]]:
    """An open case of the target each time: a case is closed once."""
    body = {"outcome": "irrecoverable", "on": TODAY, "reason": "matrix"}
    if which == "missing":
        return f"{CASES}/{uuid.uuid4()}/closure", body
    container: Container = ctx.client.app.state.container  # type: ignore[attr-defined]
    return f"{CASES}/{reopened_case(container, ctx.world, 'a' if which == 'own' else 'b')}/closure", body


def letter_target(ctx: Ctx, role: str, which: str) -> tuple[str, None]:
    if which == "missing":
        return f"{CASES}/{uuid.uuid4()}/letters/{uuid.uuid4()}", None
    side = collection_of(ctx.world, "a" if which == "own" else "b")
    return f"{CASES}/{side.case_id}/letters/{side.letter_id}", None


def _case_b(w: World) -> set[str]:
    return {collection_of(w, "b").case_id}


def _eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


COLLECTION_RULES: dict[tuple[str, str], Rule] = {
    ("GET", CASES): Rule(allowed=set(ROLES), listed_foreign=_case_b),
    ("GET", CASE_KEY): Rule(allowed=READERS_OF_A, target=case_target(""), listed_foreign=_case_b),
    ("POST", CASE_KEY + "/actions"): Rule(
        allowed=COLLECTORS, target=case_target("/actions", lambda c, r: {"kind": "note", "on": TODAY, "note": r})
    ),
    ("POST", CASE_KEY + "/costs"): Rule(
        allowed=COLLECTORS,
        target=case_target("/costs", lambda c, r: {"kind": "bailiff", "amount": _eur("10.00"), "incurred_on": TODAY}),
    ),
    ("POST", CASE_KEY + "/payments"): Rule(
        allowed=COLLECTORS,
        target=case_target("/payments", lambda c, r: {"amount": _eur("1.00"), "received_on": TODAY}),
    ),
    ("POST", CASE_KEY + "/closure"): Rule(allowed=COLLECTORS, target=closure_target),
    ("GET", CASE_KEY + "/penalties"): Rule(allowed=READERS_OF_A, target=case_target("/penalties")),
    ("GET", CASE_KEY + "/formal-notice.pdf"): Rule(
        allowed=READERS_OF_A, target=case_target("/formal-notice.pdf?language=en")
    ),
    ("POST", CASE_KEY + "/formal-notices"): Rule(
        allowed=COLLECTORS, target=case_target("/formal-notices", lambda c, r: {"language": "fr"})
    ),
    ("GET", CASE_KEY + "/letters/{letter_id}"): Rule(allowed=READERS_OF_A, target=letter_target),
    ("GET", API + "/late-payment-rates"): Rule(allowed=set(ROLES)),
    ("POST", API + "/late-payment-rates"): Rule(
        allowed=COLLECTORS, body=lambda c, r: {"effective_date": f"{2040 + next(_counter)}-01-01", "rate": "0.02"}
    ),
}


def fresh_policy_target(suffix: str, body: dict[str, Any]) -> Target:
    """A fresh policy of the target tenant each time: a policy is given notice or terminated once."""

    def build(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any]]:
        holder = {"own": ctx.world.insured_a, "other": ctx.world.insured_b}.get(which)
        if holder is None:
            return f"{API}/policies/{uuid.uuid4()}{suffix}", dict(body)
        issued = ctx.client.post(
            f"{API}/policies",
            json={"policyholder_id": holder, "start_date": "2026-01-01"},
            headers=ctx.headers["admin"],
        )
        assert issued.status_code == 201, issued.text
        return f"{API}/policies/{issued.json()['id']}{suffix}", dict(body)

    return build


# The insured (or its broker with an "act" mandate) and the underwriters give notice; underwriters terminate.
LIFECYCLE_RULES: dict[tuple[str, str], Rule] = {
    ("POST", POLICY + "/termination-notice"): Rule(
        allowed={"admin", "underwriter", "insured_user", "broker_user"},
        target=fresh_policy_target("/termination-notice", {"reason": "matrix notice"}),
    ),
    ("POST", POLICY + "/termination"): Rule(
        allowed=WRITERS,
        target=fresh_policy_target("/termination", {"effective_date": "2026-06-01", "reason": "matrix termination"}),
    ),
}

# --------------------------------------------------------------------------------------------- quotes

# The insured (or its broker with an "act" mandate) and the underwriters apply; underwriters revise and issue.
QUOTE_REQUESTERS = {"admin", "underwriter", "insured_user", "broker_user"}


def fresh_quote_target(ctx: Ctx, role: str, which: str) -> tuple[str, dict[str, Any]]:
    """A fresh quote of the target tenant each time: a quote is issued once."""
    body = {"start_date": "2026-04-01"}
    holder = {"own": ctx.world.insured_a, "other": ctx.world.insured_b}.get(which)
    if holder is None:
        return f"{API}/quotes/{uuid.uuid4()}/issue", body
    created = ctx.client.post(f"{API}/quotes", json=quote_application(holder), headers=ctx.headers["admin"])
    assert created.status_code == 201, created.text
    return f"{API}/quotes/{created.json()['id']}/issue", body


QUOTE = API + "/quotes/{quote_id}"
QUOTE_RULES: dict[tuple[str, str], Rule] = {
    ("POST", API + "/quotes"): Rule(
        allowed=QUOTE_REQUESTERS,
        target=body_target(API + "/quotes", "policyholder_id", a, b, body=lambda c, r: quote_application()),
    ),
    ("GET", API + "/quotes"): Rule(allowed=set(ROLES), listed_foreign=lambda w: {quotes_of(w, "b")}),
    ("GET", QUOTE): Rule(
        allowed=READERS_OF_A,
        target=path_target(API + "/quotes/{id}", lambda w: quotes_of(w, "a"), lambda w: quotes_of(w, "b")),
    ),
    ("POST", QUOTE + "/versions"): Rule(
        allowed=WRITERS,
        target=path_target(
            API + "/quotes/{id}/versions",
            lambda w: quotes_of(w, "a"),
            lambda w: quotes_of(w, "b"),
            body=lambda c, r: {"changes": {"waiting_period_days": 100 + next(_counter) % 500}, "reason": "matrix"},
        ),
    ),
    ("POST", QUOTE + "/issue"): Rule(allowed=WRITERS, target=fresh_quote_target),
}

# --------------------------------------------------------------------------------------------- premium

# The insured (or its broker with an "act" mandate) and the underwriters declare turnover; staff close and cash.
DECLARERS = {"admin", "underwriter", "insured_user", "broker_user"}
PREMIUM = POLICY + "/premium"


def declaration_body(ctx: Ctx, which: str, buyer: str) -> dict[str, Any]:
    """February again each time: the same period declared again is a correction (a new version)."""
    return {
        "period_start": "2026-02-01",
        "period_end": "2026-02-28",
        "domestic": "1000.00",
        "export": {"turnover": "500.00", "cash_sales": "10.00"},
    }


def closable_year_target(ctx: Ctx, role: str, which: str) -> tuple[str, None]:
    """A fresh policy of the target tenant whose first year (2025) has ended: a year is closed once."""
    holder = {"own": ctx.world.insured_a, "other": ctx.world.insured_b}.get(which)
    if holder is None:
        return f"{API}/policies/{uuid.uuid4()}/premium/years/2025-01-01/close", None
    issued = ctx.client.post(
        f"{API}/policies", json={"policyholder_id": holder, "start_date": "2025-01-01"}, headers=ctx.headers["admin"]
    )
    assert issued.status_code == 201, issued.text
    return f"{API}/policies/{issued.json()['id']}/premium/years/2025-01-01/close", None


def premium_document_target(suffix: str) -> Target:
    def build(ctx: Ctx, role: str, which: str) -> tuple[str, None]:
        if which == "missing":
            return f"{API}/policies/{uuid.uuid4()}/premium/documents/{uuid.uuid4()}{suffix}", None
        policy = ctx.world.policy_a if which == "own" else ctx.world.policy_b
        document = premium_of(ctx.world, "a" if which == "own" else "b").document_id
        return f"{API}/policies/{policy}/premium/documents/{document}{suffix}", None

    return build


PREMIUM_RULES: dict[tuple[str, str], Rule] = {
    ("POST", POLICY + "/turnover-declarations"): Rule(
        allowed=DECLARERS, target=policy_target("/turnover-declarations", declaration_body)
    ),
    ("GET", POLICY + "/turnover-declarations"): Rule(
        allowed=READERS_OF_A,
        target=policy_target("/turnover-declarations"),
        listed_foreign=lambda w: {premium_of(w, "b").declaration_id},
    ),
    ("GET", PREMIUM + "/years"): Rule(allowed=READERS_OF_A, target=policy_target("/premium/years")),
    ("POST", PREMIUM + "/years/{year_start}/close"): Rule(allowed=WRITERS, target=closable_year_target),
    ("GET", PREMIUM + "/documents"): Rule(
        allowed=READERS_OF_A,
        target=policy_target("/premium/documents"),
        listed_foreign=lambda w: {premium_of(w, "b").document_id},
    ),
    ("GET", PREMIUM + "/documents/{document_id}"): Rule(allowed=READERS_OF_A, target=premium_document_target("")),
    ("GET", PREMIUM + "/documents/{document_id}.pdf"): Rule(
        allowed=READERS_OF_A, target=premium_document_target(".pdf")
    ),
    ("POST", PREMIUM + "/payments"): Rule(
        allowed=WRITERS,
        target=policy_target(
            "/premium/payments",
            lambda c, w, buyer: {
                "amount": {"amount": "10.00", "currency": "EUR"},
                "received_on": "2026-03-14",
                "reference": f"MATRIX-{next(_counter)}",
            },
        ),
    ),
    ("GET", PREMIUM + "/statement.csv"): Rule(
        allowed=READERS_OF_A,
        target=policy_target("/premium/statement.csv"),
        listed_foreign=lambda w: {premium_of(w, "b").document_number},
    ),
    ("GET", PREMIUM + "/statement.pdf"): Rule(allowed=READERS_OF_A, target=policy_target("/premium/statement.pdf")),
    ("POST", API + "/premium/run"): Rule(allowed=WRITERS),
}

# The whole book, every insured's: the insurer's staff only (403 for the others, who have no object to probe).
PORTFOLIO_RULES: dict[tuple[str, str], Rule] = {
    ("GET", API + "/portfolio/accumulation"): Rule(allowed=STAFF),
    ("GET", API + "/portfolio/accumulation.csv"): Rule(allowed=STAFF),
    ("GET", API + "/portfolio/book"): Rule(allowed=STAFF),
    ("GET", API + "/portfolio/book.csv"): Rule(allowed=STAFF),
}

# The loss model on the live book: the whole book again, staff only; a computation, not a write.
_LOSS_BODY: dict[str, Any] = {"scenarios": 1000, "seed": 1, "top": 5}
PORTFOLIO_LOSS_RULES: dict[tuple[str, str], Rule] = {
    ("POST", API + path): Rule(allowed=STAFF, body=lambda c, r: dict(_LOSS_BODY), writes=False)
    for path in ("/portfolio/loss", "/portfolio/loss/distribution.png", "/portfolio/loss/contributions.png")
}

# --------------------------------------------------------------------------------------------- offers

# Brokers (under an "act" mandate) and the underwriters record insurers' offers; the insured, its brokers and
# the insurer's staff read them and compare them on the insured's ledger (a computation: no write).
OFFER_RECORDERS = {"admin", "underwriter", "broker_user"}
OFFER_SIRENS = {"own": "552100554", "other": "542051180"}  # world.buyer_a, world.buyer_b


def offer_body(ctx: Ctx, role: str, which: str = "own") -> dict[str, Any]:
    siren = OFFER_SIRENS.get(which, "552100554")
    return {
        "insurer": f"Matrix Insurer {next(_counter)}",
        "terms": {"indemnity_rate": "0.90"},
        "fees": {"annual_fee": "100"},
        "limits": [{"identifier": siren, "amount": "10000"}],
    }


def offer_target(suffix: str) -> Target:
    """/offers/{id}{suffix}: a fresh offer of the target tenant, recorded by an administrator."""

    def build(ctx: Ctx, role: str, which: str) -> tuple[str, None]:
        holder = {"own": ctx.world.insured_a, "other": ctx.world.insured_b}.get(which)
        if holder is None:
            return f"{API}/offers/{uuid.uuid4()}{suffix}", None
        created = ctx.client.post(
            f"{API}/insureds/{holder}/offers", json=offer_body(ctx, role, which), headers=ctx.headers["admin"]
        )
        assert created.status_code == 201, created.text
        return f"{API}/offers/{created.json()['id']}{suffix}", None

    return build


def offer_limits_csv(ctx: Ctx, role: str, which: str) -> dict[str, Any]:
    siren = OFFER_SIRENS.get(which, "552100554")
    return {"file": ("limits.csv", f"identifier,amount\n{siren},20000\n", "text/csv")}


def comparison_files(ctx: Ctx, role: str, which: str) -> dict[str, Any]:
    """A one-invoice ledger of the target's buyer and one inline offer on it."""
    siren = OFFER_SIRENS.get(which, "552100554")
    ledger = (
        "record_type,siren,number,issue_date,due_date,amount_excl_vat,vat_amount\n"
        f"invoice,{siren},CMP-1,2026-03-02,2026-04-30,1000.00,200.00\n"
    )
    offers = f'offers:\n  - {{insurer: "Matrix", limits: {{"{siren}": "5000"}}}}\n'
    return {"ledger": ("ledger.csv", ledger, "text/csv"), "offers": ("offers.yaml", offers, "application/yaml")}


INSURED_OFFERS = API + "/insureds/{organisation_id}/offers"
OFFER_RULES: dict[tuple[str, str], Rule] = {
    ("POST", INSURED_OFFERS): Rule(
        allowed=OFFER_RECORDERS,
        target=lambda c, r, w: (
            f"{API}/insureds/{_pick(w, c.world.insured_a, c.world.insured_b)}/offers",
            offer_body(c, r, w),
        ),
    ),
    ("GET", INSURED_OFFERS): Rule(allowed=READERS_OF_A, target=path_target(API + "/insureds/{id}/offers", a, b)),
    ("GET", API + "/offers/{offer_id}"): Rule(allowed=READERS_OF_A, target=offer_target("")),
    ("POST", API + "/offers/{offer_id}/limits"): Rule(
        allowed=OFFER_RECORDERS, target=offer_target("/limits"), target_files=offer_limits_csv
    ),
    ("POST", INSURED_OFFERS + "/comparison"): Rule(
        allowed=READERS_OF_A,
        target=path_target(API + "/insureds/{id}/offers/comparison", a, b),
        target_files=comparison_files,
        writes=False,
    ),
}

ORG = "/api/v1/organisations/{id}"
ORG_KEY = "/api/v1/organisations/{organisation_id}"
RULES: dict[tuple[str, str], Rule] = {
    ("POST", "/api/v1/auth/token"): Rule(allowed=set(), public=True),
    ("GET", "/api/v1/health"): Rule(allowed=set(ROLES), public=True),
    ("GET", "/api/v1/me"): Rule(allowed=set(ROLES)),
    ("GET", "/api/v1/organisations"): Rule(allowed=set(ROLES), listed_foreign=lambda w: {w.insured_b}),
    ("POST", "/api/v1/organisations"): Rule(
        allowed={"admin"}, body=lambda c, r: {"kind": "policyholder", "name": f"New {uuid.uuid4()}"}
    ),
    ("GET", ORG_KEY): Rule(allowed=READERS_OF_A, target=path_target(ORG, a, b)),
    ("GET", ORG_KEY + "/users"): Rule(allowed=READERS_OF_A, target=path_target(ORG + "/users", a, b)),
    ("POST", ORG_KEY + "/users"): Rule(
        allowed={"admin"},
        target=path_target(
            ORG + "/users",
            a,
            b,
            body=lambda c, r: {
                "email": f"u{uuid.uuid4().hex[:10]}@example.fr",
                "role": "insured_user",
                "password": "a long enough password",
            },
        ),
    ),
    ("PATCH", ORG_KEY + "/users/{user_id}"): Rule(
        allowed={"admin"},
        target=lambda c, r, which: (
            {
                "own": f"{API}/organisations/{c.world.insured_a}/users/{c.world.user_ids['insured_user']}",
                "other": f"{API}/organisations/{c.world.insured_b}/users/{c.world.user_ids['insured_user_b']}",
                "missing": f"{API}/organisations/{uuid.uuid4()}/users/{uuid.uuid4()}",
            }[which],
            # The role it already has: allowed, recorded nowhere, and the matrix's principals keep working.
            {"role": "insured_user", "reason": "matrix"},
        ),
    ),
    ("GET", "/api/v1/mandates"): Rule(allowed=set(ROLES), listed_foreign=lambda w: {w.mandate_b}),
    ("POST", "/api/v1/mandates"): Rule(
        allowed={"admin"},
        target=body_target(
            "/api/v1/mandates",
            "insured_id",
            a,
            b,
            # the other broker: new mandates must not widen the matrix's broker_user access
            body=lambda c, r: {"broker_id": c.world.broker_b, "start_date": "2026-02-01", "scope": "read"},
        ),
    ),
    ("GET", "/api/v1/mandates/{mandate_id}"): Rule(
        allowed=READERS_OF_A,
        target=path_target("/api/v1/mandates/{id}", lambda w: w.mandate_a, lambda w: w.mandate_b),
    ),
    ("GET", "/api/v1/api-keys"): Rule(allowed=set(ROLES)),
    ("POST", "/api/v1/api-keys"): Rule(allowed=set(ROLES), body=lambda c, r: {"name": "ERP"}),
    ("DELETE", "/api/v1/api-keys/{key_id}"): Rule(allowed=set(ROLES), target=own_key_target),
    ("GET", "/api/v1/buyers"): Rule(allowed=set(ROLES), listed_foreign=lambda w: {w.buyer_b}),
    ("POST", "/api/v1/buyers"): Rule(
        allowed={"admin", "underwriter", "insured_user", "broker_user"},
        target=body_target(
            "/api/v1/buyers",
            "organisation_id",
            a,
            b,
            body=lambda c, r: {
                "identifiers": [{"kind": "siren", "value": new_siren()}],
                "legal_name": "Matrix Buyer SAS",
                "country": "FR",
            },
        ),
    ),
    ("GET", "/api/v1/buyers/{buyer_id}"): Rule(
        allowed=READERS_OF_A,
        target=path_target("/api/v1/buyers/{id}", lambda w: w.buyer_a, lambda w: w.buyer_b),
    ),
    ("GET", "/api/v1/policies"): Rule(allowed=set(ROLES), listed_foreign=lambda w: {w.policy_b}),
    ("POST", "/api/v1/policies"): Rule(
        allowed=WRITERS,
        target=body_target("/api/v1/policies", "policyholder_id", a, b, body=lambda c, r: {"start_date": "2026-04-01"}),
    ),
    ("GET", "/api/v1/policies/{policy_id}"): Rule(
        allowed=READERS_OF_A,
        target=path_target("/api/v1/policies/{id}", lambda w: w.policy_a, lambda w: w.policy_b),
    ),
    ("GET", "/api/v1/policies/{policy_id}/terms"): Rule(
        allowed=READERS_OF_A,
        target=path_target("/api/v1/policies/{id}/terms", lambda w: w.policy_a, lambda w: w.policy_b),
    ),
    ("POST", "/api/v1/policies/{policy_id}/endorsements"): Rule(
        allowed=WRITERS,
        target=path_target(
            "/api/v1/policies/{id}/endorsements",
            lambda w: w.policy_a,
            lambda w: w.policy_b,
            body=lambda c, r: {
                "effective_date": "2026-06-01",
                "reason": "matrix",
                "changes": {"waiting_period_days": 100 + next(_counter) % 500},
            },
        ),
    ),
    ("POST", "/api/v1/policies/{policy_id}/renewals"): Rule(allowed=WRITERS, target=renewal_target),
    ("GET", "/api/v1/buyers/{buyer_id}/financials"): Rule(
        allowed=READERS_OF_A, target=path_target("/api/v1/buyers/{id}/financials", _buyer_a, _buyer_b)
    ),
    ("POST", "/api/v1/buyers/{buyer_id}/financials"): Rule(
        allowed=WRITERS,
        target=path_target(
            "/api/v1/buyers/{id}/financials",
            _buyer_a,
            _buyer_b,
            body=lambda c, r: {"fiscal_year_end": "2025-12-31", "total_assets": str(1000 + next(_counter))},
        ),
    ),
    ("POST", "/api/v1/financials/imports"): Rule(
        allowed=WRITERS,
        files=lambda c, r: {
            "file": (
                "statements.csv",
                f"siren,fiscal_year_end,total_assets\n552100554,2024-12-31,{next(_counter)}\n",
            )
        },
    ),
    ("GET", "/api/v1/buyers/{buyer_id}/grades"): Rule(
        allowed=READERS_OF_A, target=path_target("/api/v1/buyers/{id}/grades", _buyer_a, _buyer_b)
    ),
    ("GET", "/api/v1/buyers/{buyer_id}/legal-events"): Rule(
        allowed=READERS_OF_A, target=path_target("/api/v1/buyers/{id}/legal-events", _buyer_a, _buyer_b)
    ),
    ("GET", "/api/v1/alerts"): Rule(allowed=set(ROLES), listed_foreign=lambda w: {w.alert_b, w.ledger("b").alert_id}),
    ("POST", "/api/v1/policies/{policy_id}/limit-requests"): Rule(
        allowed={"admin", "underwriter", "insured_user", "broker_user"},
        target=path_target(
            "/api/v1/policies/{id}/limit-requests",
            _policy_a,
            _policy_b,
            body=lambda c, r: {"buyer_id": c.world.buyer_a, "amount": {"amount": "20000", "currency": "EUR"}},
        ),
    ),
    ("GET", "/api/v1/policies/{policy_id}/limit-requests"): Rule(
        allowed=READERS_OF_A, target=path_target("/api/v1/policies/{id}/limit-requests", _policy_a, _policy_b)
    ),
    ("GET", "/api/v1/limit-requests/{request_id}"): Rule(
        allowed=READERS_OF_A,
        target=path_target("/api/v1/limit-requests/{id}", lambda w: w.request_a, lambda w: w.request_b),
    ),
    ("POST", "/api/v1/policies/{policy_id}/prospect-queries"): Rule(
        allowed={"admin", "underwriter", "insured_user", "broker_user"},
        target=path_target(
            "/api/v1/policies/{id}/prospect-queries",
            _policy_a,
            _policy_b,
            body=lambda c, r: {"buyer_id": c.world.buyer_a, "amount": {"amount": "30000", "currency": "EUR"}},
        ),
    ),
    ("GET", "/api/v1/policies/{policy_id}/limits"): Rule(
        allowed=READERS_OF_A, target=path_target("/api/v1/policies/{id}/limits", _policy_a, _policy_b)
    ),
    ("GET", "/api/v1/policies/{policy_id}/limits/{buyer_id}"): Rule(allowed=READERS_OF_A, target=limit_target("")),
    ("POST", "/api/v1/policies/{policy_id}/limits/{buyer_id}/revisions"): Rule(
        allowed=WRITERS, target=limit_target("/revisions", revision=True)
    ),
    ("GET", "/api/v1/referrals"): Rule(allowed=WRITERS),
    ("POST", "/api/v1/limit-requests/{request_id}/decision"): Rule(allowed=WRITERS, target=referral_target),
    ("POST", "/api/v1/buyers/{buyer_id}/capacity"): Rule(
        allowed=WRITERS,
        target=path_target(
            "/api/v1/buyers/{id}/capacity",
            _buyer_a,
            _buyer_b,
            body=lambda c, r: {"amount": {"amount": "1000000", "currency": "EUR"}, "reason": "matrix"},
        ),
    ),
    ("GET", "/api/v1/audit/events"): Rule(allowed={"admin", "risk_manager"}),
    ("GET", "/api/v1/audit/verify"): Rule(allowed={"admin", "risk_manager"}),
    **RECEIVABLE_RULES,
    **CLAIM_RULES,
    **COLLECTION_RULES,
    **QUOTE_RULES,
    **LIFECYCLE_RULES,
    **PREMIUM_RULES,
    **PORTFOLIO_RULES,
    **PORTFOLIO_LOSS_RULES,
    **OFFER_RULES,
}


@pytest.fixture
def world(container: Container) -> World:
    """The API world with each insured's receivables, and a broker whose mandate on B is read-only."""
    world = add_collection(container, add_claims(container, add_receivables(container, build_world(container))))
    return add_premium(container, add_quotes(container, world))


def _route_rows(client: TestClient) -> set[tuple[str, str]]:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


def test_every_route_is_classified(app_client: TestClient) -> None:
    routes = _route_rows(app_client)
    assert routes - RULES.keys() == set(), "classify these routes in the authorisation matrix"
    assert RULES.keys() - routes == set(), "these classified routes no longer exist"


def _code(response: Any) -> tuple[int, str | None]:
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    return response.status_code, code


def _leaks(response: Any, foreign: set[str]) -> set[str]:
    """Another tenant's ids anywhere in a response (a list's items, an exposure's lines, a report's rows)."""
    return {value for value in foreign if value in response.text}


def _request(ctx: Ctx, rule: Rule, method: str, role: str, which: str) -> Any:
    url, body = rule.target(ctx, role, which) if rule.target else ("", None)
    files = rule.target_files(ctx, role, which) if rule.target_files else None
    return ctx.client.request(method, url, json=body, files=files, headers=ctx.headers[role])


def test_authorization_matrix(app_client: TestClient, world: World, headers: dict[str, dict[str, str]]) -> None:
    ctx = Ctx(app_client, world, headers)
    failures: list[str] = []
    checked = 0
    for (method, path), rule in sorted(RULES.items()):
        if rule.public or path == "/api/v1/auth/token":
            continue
        unauthenticated = app_client.request(method, path.replace("{", "").replace("}", ""))
        if unauthenticated.status_code != 401:
            failures.append(f"{method} {path} without credentials: {unauthenticated.status_code}")
        for role in ROLES:
            if rule.target is None:
                body = rule.body(ctx, role) if rule.body else None
                files = rule.files(ctx, role) if rule.files else None
                response = app_client.request(method, path, json=body, files=files, headers=headers[role])
                checked += 1
                ok = 200 <= response.status_code < 300
                if ok != (role in rule.allowed):
                    failures.append(f"{method} {path} as {role}: {response.status_code} {response.text[:200]}")
                if ok and rule.listed_foreign and role in TENANT_ROLES:
                    listed = {item.get("id") for item in response.json()["items"]}
                    leaked = listed & rule.listed_foreign(world)
                    if leaked:
                        failures.append(f"{method} {path} as {role} lists another tenant's {leaked}")
                continue
            results = {}
            for which in TARGETS:
                results[which] = _request(ctx, rule, method, role, which)
                checked += 1
            own_ok = 200 <= results["own"].status_code < 300
            if own_ok != (role in rule.allowed):
                failures.append(
                    f"{method} {path} as {role} on own tenant: {results['own'].status_code} {results['own'].text[:200]}"
                )
            if own_ok and rule.listed_foreign:
                leaked = _leaks(results["own"], rule.listed_foreign(world))
                if leaked:
                    failures.append(f"{method} {path} as {role} shows another tenant's {leaked}")
            if results["missing"].status_code not in (403, 404):
                failures.append(f"{method} {path} as {role} on a nonexistent id: {results['missing'].status_code}")
            if role in TENANT_ROLES:
                other, missing = _code(results["other"]), _code(results["missing"])
                if 200 <= other[0] < 300:
                    failures.append(f"{method} {path} as {role}: CROSS-TENANT ACCESS {other}")
                if other != missing:
                    failures.append(f"{method} {path} as {role}: other tenant {other} != nonexistent {missing}")
    assert not failures, "\n".join(failures)
    assert checked > 150


# Writes a read-only mandate may still make (none: moving an alert's state is a write too).
READ_ONLY_GAPS: set[tuple[str, str]] = set()


def _writes(method: str, rule: Rule) -> bool:
    return rule.writes if rule.writes is not None else method != "GET"


def test_a_read_only_mandate_reads_but_never_writes(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    """B's broker holds a read-only mandate: whatever a mandated broker may read of B it reads, it writes nothing."""
    ctx = Ctx(app_client, world, headers)
    failures: list[str] = []
    checked = 0
    for (method, path), rule in sorted(RULES.items()):
        if rule.target in (None, own_key_target) or (method, path) in READ_ONLY_GAPS:
            continue  # an API key is its user's, not the insured's
        response = _request(ctx, rule, method, READ_ONLY_BROKER, "other")
        checked += 1
        status, code = _code(response)
        if "broker_user" not in rule.allowed:
            expected = "refused"
            ok = not 200 <= status < 300
        elif _writes(method, rule):
            expected = "403 auth.mandate_read_only"
            ok = (status, code) == (403, "auth.mandate_read_only")
        else:
            expected = "2xx"
            ok = 200 <= status < 300
        if not ok:
            failures.append(f"{method} {path} as the read-only broker: {status} {code}, expected {expected}")
        if ok and 200 <= status < 300 and rule.listed_foreign:
            # from B's side, A is the other tenant
            own_ids = {world.ledger("a").invoice_id, world.ledger("a").payment_id, world.buyer_a}
            leaked = _leaks(response, own_ids)
            if leaked:
                failures.append(f"{method} {path} as the read-only broker of B shows A's {leaked}")
    listed = {a["id"] for a in app_client.get(f"{API}/alerts", headers=headers[READ_ONLY_BROKER]).json()["items"]}
    of_a, of_b = {world.alert_a, world.ledger("a").alert_id}, {world.alert_b, world.ledger("b").alert_id}
    if not of_b <= listed or listed & of_a:
        failures.append(f"GET /api/v1/alerts as the read-only broker of B lists {listed}")
    assert not failures, "\n".join(failures)
    assert checked > 30


def test_a_read_only_broker_keeps_no_order_open(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    """An order check is a read; with a reference it keeps an open order: a write, refused on a read mandate."""
    url = f"{API}/policies/{world.policy_b}/order-checks"
    body: dict[str, Any] = {"buyer_id": world.buyer_b, "amount": {"amount": "1000.00", "currency": "EUR"}}
    assert app_client.post(url, json=body, headers=headers[READ_ONLY_BROKER]).status_code == 200
    refused = app_client.post(url, json=body | {"reference": "PO-1"}, headers=headers[READ_ONLY_BROKER])
    assert _code(refused) == (403, "auth.mandate_read_only"), refused.text
    assert app_client.post(url, json=body | {"reference": "PO-1"}, headers=headers["insured_user_b"]).status_code == 200


def test_a_read_only_broker_cannot_move_an_alert(
    app_client: TestClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    alert_id = world.ledger("b").alert_id
    moved = app_client.post(
        f"{API}/alerts/{alert_id}/state", json={"state": "closed"}, headers=headers[READ_ONLY_BROKER]
    )
    assert _code(moved) == (403, "auth.mandate_read_only"), moved.text

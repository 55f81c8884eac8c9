"""A believable French demo book, deterministic from a seed.

The insurer and its staff, three policyholders in different sectors with
their policies, a broker with mandates on two of them, a factor, and N buyers
with valid SIRENs, real NAF codes, a few groups, some shared between insureds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from tradecover.domain.errors import Conflict, DomainError
from tradecover.domain.identifiers import IdentifierKind, generate_siren
from tradecover.domain.parties import MandateScope, OrganisationKind, Role
from tradecover.domain.periods import Clock, FixedClock
from tradecover.domain.policies import terms_in_force
from tradecover.domain.premium import declaration_calendar, declaration_due_date
from tradecover.ingest.bodacc import BodaccAnnouncement, ProcedureKind
from tradecover.ingest.financials_csv import StatementRow
from tradecover.ingest.reference_codes import naf_codes
from tradecover.services import (
    accounts,
    buyers,
    claims,
    credit_limits,
    financials,
    grading,
    monitoring,
    offers,
    overdues,
    policies,
    premium,
)
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.overdues import insolvency_dates
from tradecover.services.ports import Page, UnitOfWork

DEMO_PASSWORD = "tradecover-demo"  # noqa: S105 - published demo credential, development only
DEMO_DOMAIN = "demo.tradecover.fr"

STAFF = [
    ("admin", "Alice Administratrice", Role.ADMIN),
    ("underwriter", "Ulysse Arbitre", Role.UNDERWRITER),
    ("claims", "Claire Sinistres", Role.CLAIMS_HANDLER),
    ("collector", "Camille Recouvrement", Role.COLLECTOR),
    ("risk", "Rémi Risques", Role.RISK_MANAGER),
]


@dataclass(frozen=True)
class DemoInsured:
    key: str
    name: str
    naf_code: str
    city: str
    terms: dict[str, object]


INSUREDS = [
    DemoInsured(
        "metallerie",
        "Métallerie Rhône-Alpes SAS",
        "25.11Z",
        "Lyon",
        {
            "indemnity_rate": "0.90",
            "premium_rates": {"domestic_rate": "0.0028", "export_rate": "0.0042"},
            "covered_countries": ["FR", "DE", "IT", "ES", "BE"],
            "minimum_premium": "12000",
            "request_fee": "120",
            "monitoring_fee": "60",
        },
    ),
    DemoInsured(
        "distrifrais",
        "Distrifrais Agroalimentaire SA",
        "46.39B",
        "Rungis",
        {
            "indemnity_rate": "0.85",
            "max_credit_period_days": 90,
            "reduction_notice_days": 30,
            "deductible": {"amount": "2000", "currency": "EUR"},
            "minimum_premium": "9000",
            "premium_instalments": 12,
            "declaration_frequency": "monthly",
        },
    ),
    DemoInsured(
        "textiles",
        "Textiles du Nord SARL",
        "13.20Z",
        "Roubaix",
        {
            "indemnity_rate": "0.95",
            "max_liability_multiple": "25",
            "covered_countries": ["FR", "BE", "NL"],
            "minimum_premium": "6000",
            "premium_instalments": 2,
        },
    ),
]

SURNAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefebvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
]
TRADES = [
    "Transports",
    "Bâtiment",
    "Distribution",
    "Négoce",
    "Industries",
    "Menuiserie",
    "Boulangeries",
    "Matériaux",
    "Emballages",
    "Logistique",
    "Électricité",
    "Plasturgie",
    "Imprimerie",
    "Textiles",
    "Mécanique",
    "Services",
    "Conseil",
    "Agroalimentaire",
    "Chaudronnerie",
    "Informatique",
]
SUFFIXES = ["", "", "", " et Fils", " Frères", " & Associés", " Ouest", " Sud", " Île-de-France", " Nord"]
LEGAL_FORMS = [("5710", "SAS"), ("5499", "SARL"), ("5599", "SA"), ("5720", "SASU")]
CITIES = [
    "Paris",
    "Lyon",
    "Marseille",
    "Toulouse",
    "Nice",
    "Nantes",
    "Strasbourg",
    "Montpellier",
    "Bordeaux",
    "Lille",
    "Rennes",
    "Reims",
    "Le Havre",
    "Saint-Étienne",
    "Toulon",
    "Grenoble",
    "Dijon",
    "Angers",
    "Nîmes",
    "Clermont-Ferrand",
    "Le Mans",
    "Aix-en-Provence",
    "Brest",
    "Tours",
    "Amiens",
    "Limoges",
]


@dataclass
class DemoSummary:
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # email, role, organisation
    password: str = DEMO_PASSWORD
    organisations: int = 0
    policies: int = 0
    buyers: int = 0
    shared_buyers: int = 0
    groups: int = 0
    statements: int = 0
    graded: int = 0
    limits: int = 0
    invoices: int = 0
    insolvencies: int = 0
    claims: int = 0
    offers: int = 0
    declarations: int = 0
    premium_documents: int = 0


def load_demo_book(
    uow_factory: Callable[[], UnitOfWork],
    clock: Clock,
    *,
    buyers_count: int = 2000,
    seed: int = 2026,
    on_progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Build the demo book in an empty database (refuses one that already holds policyholders)."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    summary = DemoSummary()
    with uow_factory() as uow:
        _refuse_if_loaded(uow)
        insurer = accounts.ensure_insurer(uow, clock)
        admin = system_actor(insurer.id)
        for local, name, role in STAFF:
            _user(uow, clock, admin, insurer.id, local, name, role, summary, insurer.name)
        start = date(clock.today().year, 1, 1)
        insureds = []
        for index, spec in enumerate(INSUREDS):
            siren = generate_siren(10_000_000 + seed * 7 + index * 104_729)
            organisation = accounts.create_organisation(
                uow,
                clock,
                admin,
                kind=OrganisationKind.POLICYHOLDER,
                name=spec.name,
                country="FR",
                siren=siren,
            )
            insureds.append(organisation)
            _user(
                uow,
                clock,
                admin,
                organisation.id,
                f"{spec.key}",
                f"Crédit manager {spec.name}",
                Role.INSURED_USER,
                summary,
                spec.name,
            )
            policies.issue_policy(
                uow,
                clock,
                admin,
                policyholder_id=organisation.id,
                start_date=start,
                currency="EUR",
                terms=spec.terms,
                reason="demo book: policy issued",
            )
            summary.policies += 1
        broker = accounts.create_organisation(
            uow,
            clock,
            admin,
            kind=OrganisationKind.BROKER,
            name="Courtage Conseil Crédit",
            country="FR",
            siren=generate_siren(20_000_000 + seed),
        )
        _user(uow, clock, admin, broker.id, "broker", "Bruno Courtier", Role.BROKER_USER, summary, broker.name)
        for insured in insureds[:2]:
            accounts.create_mandate(
                uow,
                clock,
                admin,
                broker_id=broker.id,
                insured_id=insured.id,
                start_date=start - timedelta(days=30),
                end_date=None,
                scope=MandateScope.ACT,
            )
        factor = accounts.create_organisation(
            uow,
            clock,
            admin,
            kind=OrganisationKind.FACTOR,
            name="Factor Finance France",
            country="FR",
            siren=generate_siren(30_000_000 + seed),
        )
        _user(
            uow,
            clock,
            admin,
            factor.id,
            "factor",
            "Fanny Affactureur",
            Role.FACTOR_USER,
            summary,
            factor.name,
        )
        summary.organisations = 1 + len(insureds) + 2

        codes = [c.code for c in naf_codes()]
        known = frozenset(codes)
        used_sirens: set[str] = {o.siren for o in (*insureds, broker, factor) if o.siren}
        group_heads: list[str] = []
        group_count = max(1, buyers_count // 100)
        for number in range(buyers_count):
            siren = _fresh_siren(rng, used_sirens)
            surname = rng.choice(SURNAMES)
            trade = rng.choice(TRADES)
            code, form = rng.choice(LEGAL_FORMS)
            is_head = number < group_count
            name = f"Groupe {surname} {trade} Holding" if is_head else f"{trade} {surname}{rng.choice(SUFFIXES)}"
            parent = rng.choice(group_heads) if group_heads and not is_head and rng.random() < 0.08 else None
            books = _books_for(rng, len(insureds))
            buyer, _ = buyers.add_buyer(
                uow,
                clock,
                admin,
                identifiers=[("siren", siren)],
                legal_name=f"{name} {form}",
                country="FR",
                organisation_id=insureds[books[0]].id,
                naf_code=rng.choice(codes),
                legal_form=code,
                parent_id=parent,
                city=rng.choice(CITIES),
                customer_reference=f"C{number + 1:05d}",
                known_naf_codes=known,
            )
            for extra in books[1:]:
                buyers.add_buyer(
                    uow,
                    clock,
                    admin,
                    identifiers=[("siren", siren)],
                    legal_name=buyer.legal_name,
                    country="FR",
                    organisation_id=insureds[extra].id,
                    customer_reference=f"X{number + 1:05d}",
                )
                summary.shared_buyers += 1
            if is_head:
                group_heads.append(buyer.id)
            summary.buyers += 1
            if on_progress is not None:
                on_progress(number + 1, buyers_count)
        summary.groups = len(group_heads)
        demo_sirens = sorted(uow.buyers.by_sirens(sorted(used_sirens)).keys())
        with_statements = [siren for siren in demo_sirens if rng.random() < 0.9]
        report = financials.import_financials(
            uow,
            clock,
            admin,
            source="demo book",
            rows=_demo_statements(rng, with_statements, clock.today()),
            parse_errors=[],
        )
        summary.statements = report.count("created")
    graded = grading.regrade(uow_factory, clock, admin, everything=True)
    summary.graded = graded.graded
    summary.limits = _demo_limits(uow_factory, clock, admin, rng, demo_sirens)
    summary.invoices = _demo_ledger(uow_factory, clock, admin, rng)
    owed = _buyers_owing_overdue(uow_factory, clock, admin)
    targets = [siren for siren in demo_sirens if siren in owed] or demo_sirens  # a claim to show, if any owes
    with uow_factory() as uow:
        insolvent = monitoring.ingest_bodacc(uow, clock, admin, _demo_insolvencies(rng, targets, clock.today()))
    summary.insolvencies = insolvent.insolvencies
    summary.claims = _demo_claims(uow_factory, clock, admin)
    summary.offers = _demo_offers(uow_factory, clock, admin, insureds[0].id)
    summary.declarations, summary.premium_documents = _demo_premium(uow_factory, clock, admin, rng)
    return summary


def _demo_premium(
    uow_factory: Callable[[], UnitOfWork], clock: Clock, admin: Actor, rng: random.Random
) -> tuple[int, int]:
    """Each insured's turnover declared a few days before each due date, the last one of the third
    insured missing (its alert shows), then the premium run as of today."""
    today = clock.today()
    declared = 0
    with uow_factory() as uow:
        listed, _ = uow.policies.list_page(policyholder_ids=None, page=Page(limit=100))
        plans = []
        for index, policy in enumerate(listed):
            terms = terms_in_force(uow.policies.terms_versions(policy.id), today).terms
            year = policy.period_on(today) or policy.current_period
            periods = [
                p
                for p in declaration_calendar(year, terms.declaration_frequency)
                if declaration_due_date(p, terms.declaration_days) < today
            ]
            if index == 2 and periods:
                periods = periods[:-1]
            plans.append((policy.id, terms.declaration_frequency.months, terms.declaration_days, periods))
    for policy_id, months, days, periods in plans:
        for period in periods:
            on = datetime.combine(
                declaration_due_date(period, days) - timedelta(days=rng.randint(2, 20)), time(10), tzinfo=UTC
            )
            domestic = Decimal(rng.randint(600, 1400) * 1000 * months)
            export = Decimal(rng.randint(50, 400) * 1000 * months)
            with uow_factory() as uow:
                premium.declare_turnover(
                    uow,
                    FixedClock(on),
                    admin,
                    policy_id,
                    period_start=period.start,
                    period_end=period.last_day,
                    domestic=str(domestic),
                    export=str(export),
                )
            declared += 1
    with uow_factory() as uow:
        run = premium.run_premium(uow, clock, admin, as_of=today)
    return declared, len(run.documents)


def _demo_limits(
    uow_factory: Callable[[], UnitOfWork], clock: Clock, admin: Actor, rng: random.Random, sirens: list[str]
) -> int:
    """Each insured asks for limits on some of its buyers: the engine approves, cuts, refuses or refers."""
    decided = 0
    with uow_factory() as uow:
        policies_, _ = uow.policies.list_page(policyholder_ids=None, page=Page(limit=10))
        known = uow.buyers.by_sirens(sirens)
        pairs = []
        for policy in policies_:
            # By SIREN, not by id: ids are random and the same seed must give the same book.
            book = [b for _, b in sorted(known.items()) if policy.policyholder_id in uow.buyers.book_organisations(b)]
            pairs += [(policy.id, buyer_id) for buyer_id in book[:40]]
    for number, (policy_id, buyer_id) in enumerate(pairs):
        amount = rng.choice(["10000", "25000", "50000", "80000", "120000", "200000"])
        until = clock.today() + timedelta(days=90) if number % 15 == 0 else None
        with uow_factory() as uow:
            credit_limits.request_limit(
                uow, clock, admin, policy_id=policy_id, buyer_id=buyer_id, amount=amount, temporary_until=until
            )
        decided += 1
    return decided


def _demo_ledger(uow_factory: Callable[[], UnitOfWork], clock: Clock, admin: Actor, rng: random.Random) -> int:
    """Each insured's receivables on the buyers it asked limits for: invoices, payments (some late), a dispute."""
    from decimal import Decimal

    from tradecover.ingest.ledger_records import (
        BuyerRef,
        DisputeRecord,
        InvoiceRecord,
        LedgerFile,
        PaymentRecord,
        RecordKind,
        Source,
    )
    from tradecover.services.ledger_import import import_ledger

    today = clock.today()
    created = 0
    with uow_factory() as uow:
        policies_, _ = uow.policies.list_page(policyholder_ids=None, page=Page(limit=10))
        plans = []
        for policy in policies_:
            buyer_ids = sorted({d.buyer_id for d in uow.limits.decisions_of_policy(policy.id)})
            refs = []
            for buyer_id in buyer_ids:
                buyer = uow.buyers.get(buyer_id)
                siren = None if buyer is None else buyer.identifier(IdentifierKind.SIREN)
                if siren:
                    refs.append(BuyerRef(identifiers=(("siren", siren),), name=buyer.legal_name if buyer else None))
            refs.sort(key=lambda r: r.identifiers)  # by SIREN: ids are random, the demo is not
            plans.append((policy.id, policy.currency, refs))
    for policy_id, currency, refs in plans:
        parsed = LedgerFile(name="demo-ledger.csv", format="csv")
        line = 1
        for index, ref in enumerate(refs):
            for k in range(rng.randint(1, 5)):
                line += 1
                issued = today - timedelta(days=rng.randint(5, 150))
                net = Decimal(rng.randint(800, 18000))
                number = f"F{today.year}-{index:03d}-{k}"
                parsed.records.append(
                    InvoiceRecord(Source(parsed.name, line), RecordKind.INVOICE, ref, number, issued, issued,
                                  issued + timedelta(days=rng.choice([30, 45, 60])), net, (net * Decimal("0.2")),
                                  currency)
                )  # fmt: skip
                roll = rng.random()
                if roll < 0.55:
                    line += 1
                    paid_on = issued + timedelta(days=rng.randint(20, 95))
                    if paid_on < today:
                        parsed.records.append(
                            PaymentRecord(Source(parsed.name, line), ref, paid_on, net * Decimal("1.2"), currency,
                                          f"VIR-{number}", (number,))
                        )  # fmt: skip
                elif roll < 0.58:
                    line += 1
                    parsed.records.append(
                        DisputeRecord(Source(parsed.name, line), RecordKind.DISPUTE, ref, number,
                                      issued + timedelta(days=10), "marchandise non conforme")
                    )  # fmt: skip
        with uow_factory() as uow:
            report = import_ledger(uow, clock, admin, policy_id=policy_id, parsed=parsed, content=b"demo", partial=True)
            uow.commit()
        created += sum(1 for r in parsed.records if isinstance(r, InvoiceRecord)) - report.refused
    return created


def _buyers_owing_overdue(uow_factory: Callable[[], UnitOfWork], clock: Clock, admin: Actor) -> set[str]:
    """The SIRENs of the buyers with overdue unpaid invoices on some policy."""
    with uow_factory() as uow:
        owing = {line.buyer_id for line in overdues.notifiable_invoices(uow, clock, admin, overdue_only=True)}
        found = (uow.buyers.get(buyer_id) for buyer_id in owing)
        return {siren for buyer in found if buyer is not None and (siren := buyer.identifier(IdentifierKind.SIREN))}


def _demo_claims(uow_factory: Callable[[], UnitOfWork], clock: Clock, admin: Actor) -> int:
    """The insolvent buyers' overdue invoices notified, and their claims filed: pending their documents, for the
    insured to send and the claims handler to instruct. Through the services, as an insured would."""
    with uow_factory() as uow:
        insolvent = {
            buyer_id
            for buyer_id in uow.buyers.by_sirens(sorted(_buyers_owing_overdue(uow_factory, clock, admin))).values()
            if insolvency_dates(uow, buyer_id)[1] is not None
        }
        pairs = sorted(
            {
                (line.policy_id, line.buyer_id)
                for line in overdues.notifiable_invoices(uow, clock, admin, overdue_only=True)
                if line.buyer_id in insolvent
            }
        )
    filed = 0
    for policy_id, buyer_id in pairs:
        with uow_factory() as uow:
            try:
                overdues.declare_overdue(uow, clock, admin, policy_id=policy_id, buyer_id=buyer_id)
                claims.file_claim(uow, clock, admin, policy_id=policy_id, buyer_id=buyer_id)
            except DomainError:
                continue  # e.g. every invoice notified too late: no claim to show on this pair
            uow.commit()
            filed += 1
    return filed


#: Three insurers' offers for the first insured (its broker compares them in the portal): each offers a share of
#: the limits the insured holds today, on terms of its own.
DEMO_OFFERS: tuple[tuple[str, Decimal, dict[str, object], dict[str, str]], ...] = (
    (
        "Assureur Alpha",
        Decimal("1.00"),
        {"indemnity_rate": "0.90", "premium_rates": {"domestic_rate": "0.0035", "export_rate": "0.0050"},
         "minimum_premium": "3000", "waiting_period_days": 150},
        {"annual_fee": "250"},
    ),
    (
        "Beta Crédit",
        Decimal("0.80"),
        {"indemnity_rate": "0.85", "premium_rates": {"domestic_rate": "0.0025", "export_rate": "0.0040"},
         "minimum_premium": "2000", "waiting_period_days": 180, "deductible": "5000"},
        {"annual_fee": "400", "per_buyer_fee": "30"},
    ),
    (
        "Gamma Garantie",
        Decimal("1.20"),
        {"indemnity_rate": "0.95", "premium_rates": {"domestic_rate": "0.0045", "export_rate": "0.0060"},
         "minimum_premium": "4000", "waiting_period_days": 120},
        {},
    ),
)  # fmt: skip


def _demo_offers(uow_factory: Callable[[], UnitOfWork], clock: Clock, admin: Actor, insured_id: str) -> int:
    """The offers of :data:`DEMO_OFFERS`, on the buyers the insured holds a limit on (by SIREN)."""
    with uow_factory() as uow:
        held, _ = uow.policies.list_page(policyholder_ids=frozenset({insured_id}), page=Page(limit=10))
        granted: dict[str, Decimal] = {}
        for policy in held:
            for buyer_id, amount, _ in credit_limits.limits_of_policy(uow, clock, admin, policy.id):
                buyer = uow.buyers.get(buyer_id)
                siren = None if buyer is None else buyer.identifier(IdentifierKind.SIREN)
                if siren and amount.is_positive():
                    granted[siren] = granted.get(siren, Decimal(0)) + amount.amount
        for insurer, share, terms, fees in DEMO_OFFERS:
            limits = [
                (siren, (amount * share).quantize(Decimal("1000"), ROUND_HALF_UP))
                for siren, amount in sorted(granted.items())
            ]
            offers.record_offer(
                uow, clock, admin, organisation_id=insured_id, insurer=insurer, currency="EUR", terms=terms,
                fees=fees, limits=[(siren, amount) for siren, amount in limits if amount > 0],
            )  # fmt: skip
        uow.commit()
    return len(DEMO_OFFERS)


def _demo_statements(rng: random.Random, sirens: list[str], today: date) -> list[StatementRow]:
    """Last year's accounts, spread from sound to fragile so that grades cover the scale."""
    year_end = date(today.year - 1, 12, 31)
    rows = []
    for line, siren in enumerate(sirens, start=1):
        health = rng.gauss(0.0, 1.0)
        assets = Decimal(round(rng.lognormvariate(14.0, 1.3)))
        share = Decimal(str(round(min(1.5, max(0.1, 0.6 - 0.15 * health + rng.gauss(0, 0.1))), 3)))
        liabilities = (assets * share).quantize(Decimal(1))
        ebit = (assets * Decimal(str(round(0.05 + 0.04 * health, 3)))).quantize(Decimal(1))
        current_assets = (assets * Decimal("0.5")).quantize(Decimal(1))
        current_liabilities = (liabilities * Decimal("0.6")).quantize(Decimal(1))
        rows.append(
            StatementRow(
                line=line,
                identifier_kind="siren",
                identifier=siren,
                fiscal_year_end=year_end,
                currency="EUR",
                amounts={
                    "total_assets": assets,
                    "equity": assets - liabilities,
                    "total_liabilities": liabilities,
                    "turnover": (assets * Decimal(str(round(max(0.1, 1.2 + 0.2 * health), 3)))).quantize(Decimal(1)),
                    "ebit": ebit,
                    "net_income": (ebit * Decimal("0.7")).quantize(Decimal(1)),
                    "current_assets": current_assets,
                    "current_liabilities": current_liabilities,
                    "working_capital": current_assets - current_liabilities,
                    "retained_earnings": ((assets - liabilities) * Decimal("0.5")).quantize(Decimal(1)),
                },
            )
        )
    return rows


def _demo_insolvencies(rng: random.Random, sirens: list[str], today: date) -> list[BodaccAnnouncement]:
    """Two judgments published last week: the 30-day clocks run in the demo."""
    published = today - timedelta(days=7)
    judgments = [
        (ProcedureKind.RECEIVERSHIP, "Jugement d'ouverture d'une procédure de redressement judiciaire"),
        (ProcedureKind.LIQUIDATION, "Jugement d'ouverture de liquidation judiciaire"),
    ]
    return [
        BodaccAnnouncement(
            source="demo book",
            record=i + 1,
            announcement_id=f"DEMO-{published:%Y%m%d}-{i + 1}",
            sirens=(siren,),
            publication_date=published,
            judgment_date=published - timedelta(days=4),
            kind=kind,
            nature=nature,
            tribunal="Tribunal de commerce de Lyon",
            company_name=None,
            notice_type="initial",
            family="Jugement d'ouverture",
        )
        for i, (siren, (kind, nature)) in enumerate(zip(rng.sample(sirens, 2), judgments, strict=True))
    ]


def _refuse_if_loaded(uow: UnitOfWork) -> None:
    _, total = uow.organisations.list_page(ids=None, kind=OrganisationKind.POLICYHOLDER, page=Page(limit=1))
    if total:
        raise Conflict(
            "the database already holds a book (policyholders exist); use an empty database for the demo",
            code="demo.already_loaded",
        )


def _user(
    uow: UnitOfWork,
    clock: Clock,
    admin: Actor,
    organisation_id: str,
    local: str,
    name: str,
    role: Role,
    summary: DemoSummary,
    organisation_name: str,
) -> None:
    email = f"{local}@{DEMO_DOMAIN}"
    accounts.create_user(
        uow,
        clock,
        admin,
        organisation_id=organisation_id,
        email=email,
        full_name=name,
        role=role,
        password=DEMO_PASSWORD,
    )
    summary.logins.append((email, role.value, organisation_name))


def _fresh_siren(rng: random.Random, used: set[str]) -> str:
    while True:
        siren = generate_siren(rng.randrange(30_000_000, 99_999_999))
        if siren not in used:
            used.add(siren)
            return siren


def _books_for(rng: random.Random, insureds: int) -> list[int]:
    first = rng.randrange(insureds)
    books = [first]
    if rng.random() < 0.1:
        books.append((first + 1 + rng.randrange(insureds - 1)) % insureds)
    return books

"""Receivables benchmark: a FEC imported to exposure and aged balance, then order checks over HTTP.

    python -m benchmarks.receivables [--lines 1000000] [--customers 100000] [--backend sqlite|postgresql|both]
        [--order-checks-seconds 20] [--clients 4] [--workers 2] [--postgres URL] [--reimport]
        [--fec PATH] [--profile DIR]

Generates a realistic FEC (pipe-separated, the 18 columns of article A47 A-1,
decimal commas) of about ``--lines`` lines over ``--customers`` customers whose
``CompAuxLib`` carries a valid SIREN: sales entries (411 debit TTC, 706 credit
HT, 44571 credit VAT), credit notes (411 credit, 709 and 44571 debits), bank
entries (512 debit, 411 credit) lettered with the invoices they settle (some
settle two invoices, some come in two instalments, a few are not lettered yet),
opening items brought forward (journal AN) and invoices still open, some of
them overdue.

On each backend (a fresh SQLite file; a private PostgreSQL schema, dropped at
the end — nothing is left in the database's public schema) it seeds an insurer,
one insured with a policy and a user, the customers as buyers in the insured's
book (bulk, see :mod:`tradecover.persistence.synthetic_book`) with credit limits
on a share of them, then times, end to end as ``tradecover ledger import`` does:
reading and parsing the file, ``import_ledger`` (with its main parts), the
commit; then ``policy_exposure`` for the whole policy and ``aged_report``. It
prints each phase, the total, ``polars.read_csv`` of the same file and the
ratio, and checks that the reconciliation of every customer's balance matches
(mismatches must be 0). ``--reimport`` then imports the same file again (every
record a duplicate). ``--profile DIR`` writes a cProfile of each import.

Then it serves the API on the imported database — ``--workers`` uvicorn
processes of one worker each, on their own ports (see :func:`order_checks` for
why not ``uvicorn --workers``) — and drives ``POST
/api/v1/policies/{id}/order-checks`` with an insured user's token, first from one
client thread, then from ``--clients``, for ``--order-checks-seconds`` each:
checks/s, p50 and p99.

A summary table closes with the targets (whole import ≤ 60 s on PostgreSQL,
≤ 3× the bare polars read; order check p99 < 20 ms) and whether each is met.
Nothing is asserted: figures and ratios only. Clients, servers and database
share this machine's cores.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars
from sqlalchemy import Table, insert, select, text

from benchmarks.limit_decisions import Server, percentile
from tradecover.bootstrap import Container, build
from tradecover.config import Environment, Settings
from tradecover.domain.identifiers import generate_siren
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.domain.periods import SystemClock
from tradecover.ingest.ledger_formats import parse_ledger_file
from tradecover.persistence import tables as t
from tradecover.persistence.engine import make_engine
from tradecover.persistence.migrate import upgrade
from tradecover.persistence.synthetic_book import seed_synthetic_buyers
from tradecover.services import accounts, alerts, exposure, ledger_import, policies
from tradecover.services.authorization import Actor, system_actor
from tradecover.services.demo_book import SURNAMES, TRADES
from tradecover.services.ledger_import import ImportReport, import_ledger

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "benchmark horse battery"  # noqa: S105 - a throw-away benchmark user
INSURED_EMAIL = "credit.manager@insured.example.fr"
FIRST_SIREN_BODY = 50_000_000  # the customers' SIRENs: generate_siren(FIRST_SIREN_BODY + i), as the synthetic book
TARGET_IMPORT_SECONDS = 60.0  # PostgreSQL, 1,000,000 lines
TARGET_POLARS_RATIO = 3.0
TARGET_P99_MS = 20.0
LIMITS_SHARE = 0.2  # customers with a credit limit
TERMS_DAYS = 30  # what the import gives FEC invoices (``--terms-days`` of ``tradecover ledger import``)

BOOK: Table = t.BookEntryRow.__table__  # type: ignore[assignment]
DECISIONS: Table = t.LimitDecisionRow.__table__  # type: ignore[assignment]
IDENTIFIERS: Table = t.BuyerIdentifierRow.__table__  # type: ignore[assignment]

HEADER = (
    "JournalCode|JournalLib|EcritureNum|EcritureDate|CompteNum|CompteLib|CompAuxNum|CompAuxLib|PieceRef|PieceDate|"
    "EcritureLib|Debit|Credit|EcritureLet|DateLet|ValidDate|Montantdevise|Idevise"
)
JOURNALS = {"AN": "A nouveaux", "VE": "Journal des ventes", "BQ": "Banque Populaire"}
FORMS = ("SAS", "SARL", "SA", "SASU")


# The FEC ------------------------------------------------------------------------------------------

# One accounting line: account, account label, auxiliary account, its label, debit and credit in cents,
# lettering code and date.
_Line = tuple[str, str, str, str, int, int, str, date | None]


@dataclass
class _Entry:
    day: date
    journal: str
    piece: str
    piece_date: date
    label: str
    lines: list[_Line]


@dataclass
class FecFile:
    path: Path
    lines: int
    customers: int
    invoices: int
    credit_notes: int
    payments: int
    open_invoices: int
    start: date
    end: date
    sirens: list[str] = field(repr=False)
    accounts: list[str] = field(repr=False)


def _cents(value: int) -> str:
    return f"{value // 100},{value % 100:02d}"


def _letters(number: int) -> str:
    """BA, BB, … BZ, CA, … (two letters at least): one lettering code per settled group of a customer account."""
    code = ""
    number += 26  # at least two letters
    while number:
        number, rest = divmod(number, 26)
        code = chr(65 + rest) + code
    return code


def write_fec(path: Path, *, lines: int, customers: int, end: date, seed: int = 2026) -> FecFile:
    """A FEC of about ``lines`` lines over ``customers`` customers for the year ending ``end`` (sorted by date)."""
    # Millions of small tuples, all kept until written: the cyclic collector would only walk them again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _write_fec(path, lines=lines, customers=customers, end=end, seed=seed)
    finally:
        if collecting:
            gc.enable()


def _write_fec(path: Path, *, lines: int, customers: int, end: date, seed: int) -> FecFile:
    writer = _FecWriter(random.Random(seed), end)  # noqa: S311 - synthetic data, not security
    sirens = [generate_siren(FIRST_SIREN_BODY + i) for i in range(customers)]
    aux_accounts = [f"C{i + 1:07d}" for i in range(customers)]
    weights = [writer.rng.paretovariate(1.6) for _ in range(customers)]  # a few large customers, many small
    total_weight = sum(weights)
    cumulative = 0.0
    for siren, account, weight in zip(sirens, aux_accounts, weights, strict=True):
        cumulative += weight
        writer.customer(account, siren, until=lines * cumulative / total_weight)
    count = writer.write(path)
    return FecFile(
        path,
        count,
        customers,
        writer.invoices,
        writer.credit_notes,
        writer.payments,
        writer.open_invoices,
        writer.start,
        end,
        sirens,
        aux_accounts,
    )


class _FecWriter:
    """The entries of one year: each customer's invoices, credit notes and the transfers that settle them."""

    def __init__(self, rng: random.Random, end: date) -> None:
        self.rng = rng
        self.end = end
        self.start = end - timedelta(days=364)
        self.entries: list[_Entry] = []
        self.lines = self.invoices = self.credit_notes = self.payments = self.open_invoices = 0
        self.numbers = {"invoice": 0, "credit": 0, "transfer": 0}

    def _next(self, kind: str) -> int:
        self.numbers[kind] += 1
        return self.numbers[kind]

    def _add(self, entry: _Entry) -> None:
        self.entries.append(entry)
        self.lines += len(entry.lines)

    def _transfer(self, on: date, customer: tuple[str, str], amount: int, letter: str) -> None:
        piece = f"VIR{self._next('transfer'):08d}"
        self._add(
            _Entry(
                on,
                "BQ",
                piece,
                on,
                f"Virement {customer[1][:40]}",
                [
                    ("512000", "Banque", "", "", amount, 0, "", None),
                    ("411000", "Clients", *customer, 0, amount, letter, on if letter else None),
                ],
            )
        )
        self.payments += 1

    def _delay(self) -> int:
        """Days beyond terms: most pay on time, some late, a few very late, some never (this year)."""
        roll, rng = self.rng.random(), self.rng
        if roll < 0.6:
            return rng.randrange(-15, 1)
        if roll < 0.88:
            return rng.randrange(1, 31)
        if roll < 0.97:
            return rng.randrange(31, 91)
        return 400

    def customer(self, account: str, siren: str, *, until: float) -> None:
        """This customer's entries, until the file holds ``until`` lines (one invoice at least)."""
        rng = self.rng
        name = f"{rng.choice(TRADES)} {rng.choice(SURNAMES)} {rng.choice(FORMS)} {siren}".upper()
        customer = (account, name)
        letters = 0

        def letter() -> str:
            nonlocal letters
            letters += 1
            return _letters(letters - 1)

        if rng.random() < 0.1:  # an invoice of last year still open, brought forward
            amount = rng.randrange(20_000, 2_000_000)
            old = self.start - timedelta(days=rng.randrange(10, 80))
            piece = f"F{old.year}-{self._next('invoice'):07d}"
            # Open on the first day of the year, by definition; settled in the first weeks, or not yet.
            paid_on = self.start + timedelta(days=rng.randrange(0, 60) if rng.random() < 0.9 else 400)
            code = letter() if paid_on <= self.end else ""
            self._add(
                _Entry(
                    self.start,
                    "AN",
                    piece,
                    old,
                    f"Report {piece}",
                    [
                        ("411000", "Clients", *customer, amount, 0, code, paid_on if code else None),
                        ("890000", "Bilan d'ouverture", "", "", 0, amount, "", None),
                    ],
                )
            )
            self.invoices += 1
            if code:
                self._transfer(paid_on, customer, amount, code)
            else:
                self.open_invoices += 1
        # Invoices settled by one transfer share its letter: (letter, pay date, amount due).
        group: tuple[str, date, int] | None = None
        first = True
        while first or self.lines < until:
            first = False
            self.invoices += 1
            issued = self.start + timedelta(days=rng.randrange(0, 365))
            net = rng.randrange(5_000, 2_500_000) if rng.random() < 0.9 else rng.randrange(2_500_000, 20_000_000)
            vat = (net * 20 + 50) // 100
            piece = f"FA{issued.year}-{self._next('invoice'):07d}"
            paid_on = issued + timedelta(days=TERMS_DAYS + self._delay())
            if paid_on > self.end:
                code = ""
                self.open_invoices += 1
            elif group is None:
                code = letter() if rng.random() >= 0.02 else ""  # a few transfers are not lettered yet
            else:
                code = group[0]
            self._add(
                _Entry(
                    issued,
                    "VE",
                    piece,
                    issued,
                    f"Facture {piece}",
                    [
                        ("411000", "Clients", *customer, net + vat, 0, code, paid_on if code else None),
                        ("706000", "Prestations de services", "", "", 0, net, "", None),
                        ("445710", "TVA collectee", "", "", 0, vat, "", None),
                    ],
                )
            )
            if paid_on > self.end:
                continue
            due = net + vat
            if rng.random() < 0.03:  # a credit note (price dispute), lettered with its invoice
                credit_net = max(net // 10, 1)
                credit_vat = (credit_net * 20 + 50) // 100
                credited = issued + timedelta(days=rng.randrange(1, TERMS_DAYS))
                note = f"AV{credited.year}-{self._next('credit'):06d}"
                self._add(
                    _Entry(
                        credited,
                        "VE",
                        note,
                        credited,
                        f"Avoir {note} sur {piece}",
                        [
                            (
                                "411000",
                                "Clients",
                                *customer,
                                0,
                                credit_net + credit_vat,
                                code,
                                paid_on if code else None,
                            ),
                            ("709000", "Rabais remises ristournes", "", "", credit_net, 0, "", None),
                            ("445710", "TVA collectee", "", "", credit_vat, 0, "", None),
                        ],
                    )
                )
                self.credit_notes += 1
                due -= credit_net + credit_vat
            if group is None and rng.random() < 0.03:  # paid in two instalments
                self._transfer(paid_on - timedelta(days=10), customer, due // 2, code)
                self._transfer(paid_on, customer, due - due // 2, code)
                continue
            group = (
                code,
                paid_on if group is None else max(group[1], paid_on),
                due + (0 if group is None else group[2]),
            )
            if code and rng.random() < 0.3 and self.lines < until:
                continue  # one transfer will settle this invoice and the next
            self._transfer(group[1], customer, group[2], group[0])
            group = None
        if group is not None:
            self._transfer(group[1], customer, group[2], group[0])

    def write(self, path: Path) -> int:
        """Sorted by date, numbered per journal; returns the number of lines (header excluded)."""
        self.entries.sort(key=lambda e: (e.day, e.journal, e.piece))
        numbers = dict.fromkeys(JOURNALS, 0)
        out = [HEADER]
        for entry in self.entries:
            numbers[entry.journal] += 1
            day = f"{entry.day:%Y%m%d}"
            head = f"{entry.journal}|{JOURNALS[entry.journal]}|{entry.journal}{numbers[entry.journal]:07d}|{day}|"
            middle = f"|{entry.piece}|{entry.piece_date:%Y%m%d}|{entry.label}|"
            for account, account_label, aux, aux_label, debit, credit, code, lettered_on in entry.lines:
                lettered = "" if lettered_on is None else f"{lettered_on:%Y%m%d}"
                out.append(
                    f"{head}{account}|{account_label}|{aux}|{aux_label}{middle}{_cents(debit)}|{_cents(credit)}|"
                    f"{code}|{lettered}|{day}||"
                )
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
        return len(out) - 1


# The database -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    policy_id: str
    user_id: str
    buyer_ids: list[str]  # the customers' buyers, in customer order
    limited: list[str]  # the buyers with a credit limit


def prepare(container: Container, fec: FecFile) -> Prepared:
    """Migrate; insurer, insured, its policy (from the FEC's first day) and user; buyers in its book; limits."""
    upgrade(container.engine)
    clock = container.clock
    with container.uow() as uow:
        insurer = accounts.ensure_insurer(uow, clock)
        admin = system_actor(insurer.id)
        insured = accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.POLICYHOLDER, name="Benchmark Services SAS", country="FR"
        )
        policy, _ = policies.issue_policy(uow, clock, admin, policyholder_id=insured.id, start_date=fec.start)
        user = accounts.create_user(
            uow,
            clock,
            admin,
            organisation_id=insured.id,
            email=INSURED_EMAIL,
            full_name="Benchmark credit manager",
            role=Role.INSURED_USER,
            password=PASSWORD,
        )
        uow.commit()
    seed_synthetic_buyers(container.engine, fec.customers, first_siren_body=FIRST_SIREN_BODY, batch=20_000)
    rng = random.Random(7)  # noqa: S311 - synthetic data, not security
    now = datetime.now(UTC)
    with container.engine.begin() as connection:
        query = select(IDENTIFIERS.c.value, IDENTIFIERS.c.buyer_id).where(IDENTIFIERS.c.kind == "siren")
        by_siren: dict[str, str] = {value: buyer_id for value, buyer_id in connection.execute(query)}
        buyer_ids = [by_siren[siren] for siren in fec.sirens]
        book = [
            {"organisation_id": insured.id, "buyer_id": buyer_id, "customer_reference": account, "added_at": now}
            for buyer_id, account in zip(buyer_ids, fec.accounts, strict=True)
        ]
        limited = sorted(rng.sample(buyer_ids, int(len(buyer_ids) * LIMITS_SHARE)))
        decisions = [
            {
                "id": str(uuid.uuid4()),
                "policy_id": policy.id,
                "buyer_id": buyer_id,
                "sequence": 1,
                "request_type": "new",
                "status": "approved",
                "currency": "EUR",
                "requested_minor": amount,
                "granted_minor": amount,
                "effective_date": fec.start,
                "expires_on": None,
                "review_on": None,
                "reasons": "[]",
                "decided_by": "benchmark underwriter",
                "decided_at": now,
                "request_id": None,
            }
            for buyer_id, amount in ((b, rng.randrange(10, 300) * 100_000) for b in limited)
        ]
        for rows, table in ((book, BOOK), (decisions, DECISIONS)):
            for begin in range(0, len(rows), 10_000):
                connection.execute(insert(table), rows[begin : begin + 10_000])
    # A book of this size lives in a database whose planner statistics know it (autovacuum would analyze
    # the fresh tables a minute later): without them the first queries may scan.
    with container.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return Prepared(policy.id, user.id, buyer_ids, limited)


# The import ---------------------------------------------------------------------------------------


@dataclass
class ImportTimes:
    parse: float = 0.0
    import_ledger: float = 0.0
    commit: float = 0.0
    exposure: float = 0.0
    aged: float = 0.0
    inside: dict[str, float] = field(default_factory=dict)  # import_ledger's parts
    cpu: float = 0.0  # this process's CPU seconds over the whole (the machine is shared: wall time varies)
    created: int = 0
    duplicates: int = 0
    refused: int = 0
    customers: int = 0
    mismatches: int = 0
    exposure_buyers: int = 0
    aged_buyers: int = 0
    outstanding: str = ""
    aged_total: str = ""

    @property
    def to_commit(self) -> float:
        return self.parse + self.import_ledger + self.commit

    @property
    def total(self) -> float:
        return self.to_commit + self.exposure + self.aged


@contextmanager
def _timing_parts(into: dict[str, float]) -> Iterator[None]:
    """Time a few of import_ledger's parts by wrapping them (module attributes, restored after)."""
    targets: list[tuple[Any, str, str]] = [
        (ledger_import, "refresh_balances", "balances"),
        (ledger_import, "_reconcile", "reconciliation"),
        (alerts, "check_alerts", "alerts"),
        (ledger_import.BuyerMapper, "prefetch", "buyer lookup"),
        (ledger_import.BuyerMapper, "ensure_in_book", "book check"),
    ]
    from tradecover.persistence.ledger_repository import LedgerRepository

    for name in ("add_invoices", "add_payments"):
        targets.append((LedgerRepository, name, "inserts"))
    for name in ("invoice_keys", "payment_keys"):
        targets.append((LedgerRepository, name, "existing keys"))
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]

    def wrap(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            begin = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                into[label] = into.get(label, 0.0) + time.perf_counter() - begin

        return timed

    for owner, name, label in targets:
        setattr(owner, name, wrap(getattr(owner, name), label))
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def _import(container: Container, fec: FecFile, prepared: Prepared, actor: Actor, times: ImportTimes) -> ImportReport:
    """``tradecover ledger import``: read, parse, import_ledger, commit; the phases' seconds into ``times``."""
    begin = time.perf_counter()
    data = fec.path.read_bytes()
    with container.uow() as uow:
        found = uow.policies.get(prepared.policy_id)
        assert found is not None
        currency = found.currency
    parsed = parse_ledger_file(data, fec.path.name, currency=currency, default_terms_days=TERMS_DAYS)
    times.parse = time.perf_counter() - begin
    with container.uow() as uow, _timing_parts(times.inside):
        begin = time.perf_counter()
        report = import_ledger(uow, container.clock, actor, policy_id=prepared.policy_id, parsed=parsed, content=data)
        times.import_ledger = time.perf_counter() - begin
        begin = time.perf_counter()
        if report.applied:
            uow.commit()
        times.commit = time.perf_counter() - begin
    times.created, times.duplicates, times.refused = report.created, report.duplicates, report.refused
    times.customers = len(report.reconciliation)
    times.mismatches = sum(1 for r in report.reconciliation if not r.matches)
    if report.refused:
        sample = [line for line in report.lines if line.outcome == "refused"][:3]
        print(f"  refused lines, e.g.: {[(line.line, line.code, line.message) for line in sample]}")
    return report


def time_import(container: Container, fec: FecFile, prepared: Prepared, profile: Path | None) -> ImportTimes:
    """The import, then the policy's exposure and aged balance, as of today."""
    times = ImportTimes()
    clock = container.clock
    profiler = cProfile.Profile() if profile is not None else None
    with container.uow() as uow:
        actor = accounts.actor_for_user(uow, clock, prepared.user_id)
    if profiler is not None:
        profiler.enable()
    cpu = time.process_time()
    _import(container, fec, prepared, actor, times)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(profile))
    today = clock.today()
    with container.uow() as uow:
        begin = time.perf_counter()
        result = exposure.policy_exposure(uow, actor, prepared.policy_id, on=today)
        times.exposure = time.perf_counter() - begin
        times.exposure_buyers = len(result.buyers)
        times.outstanding = str(result.total("outstanding"))
    with container.uow() as uow:
        begin = time.perf_counter()
        aged = exposure.aged_report(uow, actor, prepared.policy_id, on=today)
        times.aged = time.perf_counter() - begin
        times.aged_buyers = len(aged.buyers)
        times.aged_total = str(aged.total.total)
    times.cpu = time.process_time() - cpu
    return times


def time_reimport(container: Container, fec: FecFile, prepared: Prepared) -> ImportTimes:
    """The same file again (a year-to-date FEC sent every month): every record is a duplicate."""
    times = ImportTimes()
    with container.uow() as uow:
        actor = accounts.actor_for_user(uow, container.clock, prepared.user_id)
    cpu = time.process_time()
    _import(container, fec, prepared, actor, times)
    times.cpu = time.process_time() - cpu
    return times


def polars_read(path: Path) -> float:
    best = float("inf")
    for _ in range(3):
        begin = time.perf_counter()
        frame = polars.read_csv(path, separator="|", infer_schema=False)
        best = min(best, time.perf_counter() - begin)
        del frame
    return best


# Order checks over HTTP ---------------------------------------------------------------------------


@dataclass
class Checks:
    clients: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    failures: dict[int, int] = field(default_factory=dict)
    sample_failure: str = ""
    window: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.window if self.window else 0.0

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000 if self.latencies else float("nan")


def drive_order_checks(
    bases: list[str], policy_id: str, buyer_ids: list[str], *, clients: int, seconds: float, warmup: float
) -> Checks:
    """``clients`` threads post order checks with the insured user's token, spread over the servers ``bases``;
    only those started after the warm-up are counted."""
    token = httpx.post(
        f"{bases[0]}/api/v1/auth/token", data={"username": INSURED_EMAIL, "password": PASSWORD}, timeout=30
    ).raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    checks = Checks(clients=clients, window=seconds)
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    times: dict[str, float] = {}
    path = f"/api/v1/policies/{policy_id}/order-checks"

    def client(number: int) -> None:
        rng = random.Random(number)  # noqa: S311 - load generation, not security
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        failures: dict[int, int] = {}
        sample = ""
        base = bases[number % len(bases)]
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            http.get("/api/v1/health")  # open the keep-alive connection before the clock starts
            barrier.wait()
            start, end = times["start"], times["end"]
            while (now := time.perf_counter()) < end:
                body = {
                    "buyer_id": rng.choice(buyer_ids),
                    "amount": {"amount": f"{rng.randrange(500, 50_000)}.00", "currency": "EUR"},
                }
                response = http.post(path, json=body)
                elapsed = time.perf_counter() - now
                if now < start:
                    continue
                if response.status_code == 200:
                    latencies.append(elapsed)
                    answer = str(response.json().get("status"))
                    statuses[answer] = statuses.get(answer, 0) + 1
                else:
                    failures[response.status_code] = failures.get(response.status_code, 0) + 1
                    sample = sample or response.text[:300]
        with lock:
            checks.latencies.extend(latencies)
            for key, value in statuses.items():
                checks.statuses[key] = checks.statuses.get(key, 0) + value
            for code, value in failures.items():
                checks.failures[code] = checks.failures.get(code, 0) + value
            checks.sample_failure = checks.sample_failure or sample

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    times["start"] = time.perf_counter() + warmup
    times["end"] = times["start"] + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    return checks


def order_checks(url: str, prepared: Prepared, args: argparse.Namespace) -> list[Checks]:
    """One client (the latency of a check alone), then ``--clients`` (the rate at full load)."""
    if args.order_checks_seconds <= 0:
        return []
    rng = random.Random(11)  # noqa: S311 - load generation, not security
    # Half the checks on buyers with a limit (the ones an ERP checks most), half on any buyer of the book.
    targets = prepared.limited + rng.sample(prepared.buyer_ids, min(len(prepared.buyer_ids), len(prepared.limited)))
    # ``--workers`` single-worker uvicorn processes, each on its own port, the clients spread over them: with
    # ``uvicorn --workers N`` the workers' shared socket is made without IPPROTO_TCP, so asyncio never sets
    # TCP_NODELAY on the connections and every answer (headers, then body) waits for the client's delayed
    # ACK: 40 ms more on each request, whatever the application does.
    with tempfile.TemporaryDirectory() as folder:
        servers = [Server(url, 1, Path(folder) / f"uvicorn-{n}.log") for n in range(args.workers)]
        try:
            for server in servers:
                server.wait_ready()
            return [
                drive_order_checks(
                    [server.base for server in servers],
                    prepared.policy_id,
                    targets,
                    clients=clients,
                    seconds=args.order_checks_seconds,
                    warmup=args.warmup,
                )
                for clients in sorted({1, args.clients})
            ]
        finally:
            for server in servers:
                server.stop()


# One backend --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    backend: str
    times: ImportTimes
    checks: list[Checks]


def run_backend(label: str, url: str, fec: FecFile, args: argparse.Namespace) -> Outcome:
    container = build(Settings(database_url=url, environment=Environment.TEST))
    try:
        begin = time.perf_counter()
        prepared = prepare(container, fec)
        print(
            f"{label}: seeded the insured, its policy, {len(prepared.buyer_ids):,} buyers in its book and "
            f"{len(prepared.limited):,} credit limits in {time.perf_counter() - begin:.1f} s"
        )
        profile = None if args.profile is None else Path(args.profile) / f"import-{label.lower()}.prof"
        times = time_import(container, fec, prepared, profile)
        again = time_reimport(container, fec, prepared) if args.reimport else None
    finally:
        container.dispose()
    inside = ", ".join(f"{name} {seconds:.2f}" for name, seconds in sorted(times.inside.items(), key=lambda x: -x[1]))
    print(
        f"{label}: parse {times.parse:.2f} s, import_ledger {times.import_ledger:.2f} s ({inside}), "
        f"commit {times.commit:.2f} s → imported in {times.to_commit:.2f} s; exposure {times.exposure:.2f} s "
        f"({times.exposure_buyers:,} buyers, outstanding {times.outstanding}), aged balance {times.aged:.2f} s "
        f"({times.aged_buyers:,} buyers, total {times.aged_total}); total {times.total:.2f} s "
        f"(CPU of this process {times.cpu:.2f} s)"
    )
    print(
        f"{label}: {times.created:,} records created, {times.duplicates:,} duplicates, {times.refused:,} refused; "
        f"reconciliation mismatches {times.mismatches:,} of {times.customers:,} customers"
        + (" (must be 0)" if times.mismatches else "")
    )
    if again is not None:
        print(
            f"{label}: re-import of the same file: parse {again.parse:.2f} s, import_ledger "
            f"{again.import_ledger:.2f} s, commit {again.commit:.2f} s → {again.to_commit:.2f} s "
            f"(CPU {again.cpu:.2f} s); "
            f"{again.created:,} created, {again.duplicates:,} duplicates, {again.refused:,} refused; "
            f"reconciliation mismatches {again.mismatches:,}"
        )
    if profile is not None:
        print(f"{label}: profile of the import in {profile}")
    runs = order_checks(url, prepared, args)
    for checks in runs:
        print(
            f"{label}: order checks over HTTP ({args.workers} uvicorn processes, {checks.clients} clients, "
            f"{args.order_checks_seconds:g} s): {len(checks.latencies):,} checks = {checks.per_second:,.0f} checks/s; "
            f"p50 {checks.ms(0.5):.1f} ms, p99 {checks.ms(0.99):.1f} ms"
            + (f", mean {statistics.fmean(checks.latencies) * 1000:.1f} ms" if checks.latencies else "")
            + f"; answers {checks.statuses}"
        )
        if checks.failures:
            print(f"{label}: non-200 answers {checks.failures}; e.g. {checks.sample_failure}")
    return Outcome(label, times, runs)


@contextmanager
def private_schema(base_url: str) -> Iterator[str]:
    """A PostgreSQL schema of our own, dropped at the end; yields the URL that works in it."""
    schema = f"bench_receivables_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# Summary ------------------------------------------------------------------------------------------


def summary(outcomes: list[Outcome], polars_seconds: float, fec: FecFile) -> None:
    scale = 1.0 if abs(fec.lines - 1_000_000) < 10_000 else fec.lines / 1_000_000
    print()
    print(f"Summary ({fec.lines:,} lines, {fec.customers:,} customers; polars.read_csv {polars_seconds:.2f} s)")
    rows: list[tuple[str, str, str, str]] = []
    for outcome in outcomes:
        total = outcome.times.total
        ratio = total / polars_seconds
        if outcome.backend == "PostgreSQL":
            budget = TARGET_IMPORT_SECONDS * scale
            note = "" if scale == 1.0 else f" (scaled to {fec.lines:,} lines: {budget:.1f} s)"
            rows.append(
                (
                    f"{outcome.backend}: whole import (parse → commit → exposure → aged)",
                    f"{total:.1f} s",
                    f"≤ {TARGET_IMPORT_SECONDS:.0f} s at 1M lines{note}",
                    "met" if total <= budget else "NOT met",
                )
            )
        else:
            rows.append((f"{outcome.backend}: whole import", f"{total:.1f} s", "(no target)", "-"))
        rows.append(
            (
                f"{outcome.backend}: whole import / polars.read_csv",
                f"{ratio:.1f}x",
                f"≤ {TARGET_POLARS_RATIO:.0f}x",
                "met" if ratio <= TARGET_POLARS_RATIO else "NOT met",
            )
        )
        rows.append(
            (
                f"{outcome.backend}: reconciliation mismatches",
                f"{outcome.times.mismatches:,}",
                "0",
                "met" if outcome.times.mismatches == 0 and outcome.times.customers else "NOT met",
            )
        )
        for checks in outcome.checks:
            p99 = checks.ms(0.99)
            rows.append(
                (
                    f"{outcome.backend}: order check p99, {checks.clients} client(s), {checks.per_second:,.0f}/s",
                    f"{p99:.1f} ms",
                    f"< {TARGET_P99_MS:.0f} ms",
                    "met" if p99 < TARGET_P99_MS else "NOT met",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    header = ("measure", "value", "target", "")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in (header, *rows):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


# Main ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", default=os.environ.get("TRADECOVER_TEST_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--order-checks-seconds", type=float, default=20.0, help="0: no HTTP part")
    parser.add_argument("--clients", type=int, default=4, help="order-check client threads at full load")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes (one worker each)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before counting")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reimport", action="store_true", help="then import the same file again (all duplicates)")
    parser.add_argument("--fec", help="write the generated FEC here (kept) rather than in a temporary folder")
    parser.add_argument("--profile", help="folder for a cProfile of each backend's import (parse → commit)")
    args = parser.parse_args()
    if args.customers < 1 or args.lines < 5 * args.customers:
        parser.error("--lines must be at least 5 × --customers (an invoice and its payment are 5 lines)")
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(args.fec) if args.fec else Path(folder) / "123456789FEC20261231.txt"
        begin = time.perf_counter()
        fec = write_fec(path, lines=args.lines, customers=args.customers, end=SystemClock().today(), seed=args.seed)
        size = path.stat().st_size
        print(
            f"FEC: {fec.lines:,} lines ({size / 1e6:.0f} MB), {fec.customers:,} customers, {fec.invoices:,} invoices "
            f"({fec.open_invoices:,} open), {fec.credit_notes:,} credit notes, {fec.payments:,} payments, "
            f"{fec.start} to {fec.end}; written in {time.perf_counter() - begin:.1f} s"
        )
        polars_seconds = polars_read(path)
        print(f"polars.read_csv(separator='|', infer_schema=False): {polars_seconds:.3f} s (best of 3)")
        outcomes: list[Outcome] = []
        if args.backend in ("sqlite", "both"):
            outcomes.append(run_backend("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", fec, args))
        if args.backend in ("postgresql", "both"):
            with private_schema(args.postgres) as url:
                outcomes.append(run_backend("PostgreSQL", url, fec, args))
        summary(outcomes, polars_seconds, fec)


if __name__ == "__main__":
    main()

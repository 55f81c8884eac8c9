"""Limit-decision benchmark: automatic credit-limit decisions through the real API, against pgbench.

    python -m benchmarks.limit_decisions [--postgres URL] [--clients 32] [--seconds 20] [--workers 2]

Creates a fresh PostgreSQL schema, migrates it and seeds an insurer, ``--insureds``
insureds (32) each with a policy and an API key, 1,000 graded buyers with explicit
capacities in every insured's book; serves the API with uvicorn in a subprocess on a free port of
127.0.0.1, and drives ``--clients`` concurrent clients (threads, each with its own
keep-alive ``httpx.Client``) posting automatic limit requests (amounts under the
automatic ceiling) for ``--seconds``. Prints decisions/s and p50/p99 latency.

Then runs pgbench's TPC-B on the same server (``pgbench -i -s 10`` into a scratch
database ``tc_pgbench``, ``pgbench -c <clients> -j 2 -T <seconds>``), and prints the
ratio decisions/s ÷ pgbench tps against the target (≥ 0.5) and whether p99 < 50 ms.
The schema and the scratch database are dropped at the end. Nothing is asserted:
figures and ratios only. Clients, server and database share this machine's cores.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from tradecover.bootstrap import build
from tradecover.config import Environment, Settings
from tradecover.domain.buyers import BookEntry
from tradecover.domain.identifiers import generate_siren
from tradecover.domain.monitoring import GradeRecord
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.persistence.engine import make_engine
from tradecover.persistence.migrate import upgrade
from tradecover.services import accounts, buyers, credit_limits, policies
from tradecover.services.authorization import system_actor

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PGBENCH_DB = "tc_pgbench"
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
PASSWORD = "benchmark horse battery"  # noqa: S105 - a throw-away benchmark user
CAPACITY = "500000"
AMOUNTS = (5_000, 140_000)  # under the automatic ceiling (150,000 by default)


# Seeding ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    insureds: list[tuple[str, str]]  # (policy id, API key) of each insured
    buyer_ids: list[str]


def seed(url: str, buyer_count: int, insured_count: int) -> Seeded:
    """Insurer, insureds each with a policy in force today and an API key, graded buyers with capacities.

    Several insureds, as in life: each has its own audit chain, so they do not queue on one another.
    """
    container = build(Settings(database_url=url, environment=Environment.TEST))
    upgrade(container.engine)
    clock = container.clock
    insureds: list[tuple[str, str]] = []
    with container.uow() as uow:
        insurer = accounts.ensure_insurer(uow, clock)
        admin = system_actor(insurer.id)
        holders = []
        for n in range(insured_count):
            insured = accounts.create_organisation(
                uow,
                clock,
                admin,
                kind=OrganisationKind.POLICYHOLDER,
                name=f"Benchmark Insured {n:02d} SAS",
                country="FR",
            )
            policy, _ = policies.issue_policy(uow, clock, admin, policyholder_id=insured.id, start_date=clock.today())
            user = accounts.create_user(
                uow,
                clock,
                admin,
                organisation_id=insured.id,
                email=f"bench{n:02d}@insured.example.fr",
                full_name="Benchmark user",
                role=Role.INSURED_USER,
                password=PASSWORD,
            )
            _, token = accounts.create_api_key(uow, clock, accounts.actor_for_user(uow, clock, user.id), name="bench")
            insureds.append((policy.id, token))
            holders.append(insured.id)
        buyer_ids: list[str] = []
        for i in range(buyer_count):
            buyer, _ = buyers.add_buyer(
                uow,
                clock,
                admin,
                identifiers=[("siren", generate_siren(500_000 + i))],
                legal_name=f"Benchmark Buyer {i:04d}",
                country="FR",
                naf_code="46.69B",
                legal_form="5710",
            )
            credit_limits.set_capacity(uow, clock, admin, buyer.id, amount=CAPACITY, reason="benchmark capacity")
            uow.buyers.record_grade(
                GradeRecord(
                    buyer_id=buyer.id,
                    grade=4,
                    probability_of_default=Decimal("0.0030"),
                    factors={"baseline": 0.0},
                    model_version="benchmark",
                    run_id="benchmark",
                    inputs_version=buyer.inputs_version,
                    graded_at=clock.now(),
                    previous_grade=None,
                )
            )
            buyer_ids.append(buyer.id)
        # Every insured trades with every buyer (bulk: the book is seeding, not what is measured).
        now = clock.now()
        for holder in holders:
            for buyer_id in buyer_ids:
                uow.buyers.add_to_book(BookEntry(holder, buyer_id, None, now))
        uow.commit()
    container.dispose()
    return Seeded(insureds, buyer_ids)


# The API server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """``uvicorn tradecover.api.main:app`` in a subprocess, stopped by its own process id."""

    def __init__(self, url: str, workers: int, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {**os.environ, "TRADECOVER_DATABASE_URL": url, "TRADECOVER_ENVIRONMENT": "development"}
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "tradecover.api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(command, env=env, stdout=self._log_file, stderr=subprocess.STDOUT)  # noqa: S603

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"uvicorn did not answer within {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


# The load -----------------------------------------------------------------------------------------


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)  # seconds, successful decisions in the window
    statuses: dict[str, int] = field(default_factory=dict)  # engine answers in the window
    failures: dict[int, int] = field(default_factory=dict)  # HTTP status -> count (not 201)
    sample_failure: str = ""
    window: float = 0.0


def drive(base: str, seeded: Seeded, *, clients: int, seconds: float, warmup: float) -> Load:
    """``clients`` threads post limit requests; only those started after the warm-up are counted."""
    load = Load()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    times: dict[str, float] = {}

    def client(number: int) -> None:
        rng = random.Random(number)  # noqa: S311 - load generation, not security
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        failures: dict[int, int] = {}
        sample = ""
        policy_id, api_key = seeded.insureds[number % len(seeded.insureds)]
        path = f"/api/v1/policies/{policy_id}/limit-requests"
        with httpx.Client(base_url=base, headers={"X-API-Key": api_key}, timeout=30) as http:
            http.get("/api/v1/health")  # open the keep-alive connection before the clock starts
            barrier.wait()
            start, end = times["start"], times["end"]
            while (now := time.perf_counter()) < end:
                body = {
                    "buyer_id": rng.choice(seeded.buyer_ids),
                    "amount": {"amount": str(rng.randrange(AMOUNTS[0], AMOUNTS[1] + 1, 500)), "currency": "EUR"},
                }
                response = http.post(path, json=body)
                elapsed = time.perf_counter() - now
                if now < start:
                    continue  # warm-up
                if response.status_code == 201:
                    latencies.append(elapsed)
                    answer = str(response.json().get("status"))
                    statuses[answer] = statuses.get(answer, 0) + 1
                else:
                    failures[response.status_code] = failures.get(response.status_code, 0) + 1
                    sample = sample or response.text[:300]
        with lock:
            load.latencies.extend(latencies)
            for key, value in statuses.items():
                load.statuses[key] = load.statuses.get(key, 0) + value
            for code, value in failures.items():
                load.failures[code] = load.failures.get(code, 0) + value
            load.sample_failure = load.sample_failure or sample

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    times["start"] = time.perf_counter() + warmup
    times["end"] = times["start"] + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    load.window = seconds
    return load


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# pgbench ------------------------------------------------------------------------------------------


def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    return candidates[-1] if candidates else None


def pgbench_tps(pgbench: str, url: URL, *, clients: int, seconds: int, scale: int) -> float | None:
    """TPC-B tps on a scratch database created (and dropped) here; None when pgbench fails."""
    admin = make_engine(url.render_as_string(hide_password=False)).execution_options(isolation_level="AUTOCOMMIT")
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    connection_args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{PGBENCH_DB}"'))
        connection.execute(text(f'CREATE DATABASE "{PGBENCH_DB}"'))
    try:
        init = subprocess.run(  # noqa: S603
            [pgbench, "-i", "-s", str(scale), "-q", *connection_args, PGBENCH_DB],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if init.returncode != 0:
            print(f"pgbench -i failed ({init.returncode}): {init.stderr.strip()[-500:]}")
            return None
        run = subprocess.run(  # noqa: S603
            [pgbench, "-c", str(clients), "-j", "2", "-T", str(seconds), *connection_args, PGBENCH_DB],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            print(f"pgbench failed ({run.returncode}): {run.stderr.strip()[-500:]}")
            return None
        match = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", run.stdout, re.MULTILINE)
        match = match or re.search(r"^tps = ([0-9.]+)", run.stdout, re.MULTILINE)
        if match is None:
            print(f"no tps line in pgbench's output:\n{run.stdout[-800:]}")
            return None
        latency = re.search(r"^latency average = ([0-9.]+) ms", run.stdout, re.MULTILINE)
        print(
            f"pgbench TPC-B (scale {scale}, {clients} clients, -j 2, {seconds} s): tps = {float(match.group(1)):,.0f}"
            + (f", latency average {latency.group(1)} ms" if latency else "")
        )
        return float(match.group(1))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{PGBENCH_DB}" WITH (FORCE)'))
        admin.dispose()


# Main ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("TRADECOVER_TEST_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--buyers", type=int, default=1000)
    parser.add_argument("--insureds", type=int, default=32, help="insureds (policies, API keys) the clients act for")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before counting")
    parser.add_argument("--pgbench-scale", type=int, default=10)
    parser.add_argument("--skip-pgbench", action="store_true")
    args = parser.parse_args()

    base_url = make_url(args.postgres)
    schema = f"bench_limits_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.postgres)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in args.postgres else "?"
    url = f"{args.postgres}{separator}options=-csearch_path%3D{schema}"
    decisions_per_second = p99 = 0.0
    try:
        start = time.perf_counter()
        seeded = seed(url, args.buyers, args.insureds)
        print(
            f"seeded {len(seeded.insureds)} insureds with a policy each, {len(seeded.buyer_ids):,} buyers "
            f"in {time.perf_counter() - start:.1f} s"
        )
        with tempfile.TemporaryDirectory() as folder:
            server = Server(url, args.workers, Path(folder) / "uvicorn.log")
            try:
                server.wait_ready()
                load = drive(server.base, seeded, clients=args.clients, seconds=args.seconds, warmup=args.warmup)
            finally:
                server.stop()
        count = len(load.latencies)
        decisions_per_second = count / load.window
        if count:
            p50, p99 = percentile(load.latencies, 0.50), percentile(load.latencies, 0.99)
            print(
                f"API limit decisions (uvicorn --workers {args.workers}, {args.clients} clients, {args.seconds} s): "
                f"{count:,} decisions = {decisions_per_second:,.1f} decisions/s; latency p50 {p50 * 1000:.1f} ms, "
                f"p99 {p99 * 1000:.1f} ms, mean {statistics.fmean(load.latencies) * 1000:.1f} ms; "
                f"answers {load.statuses}"
            )
        if load.failures:
            print(f"non-201 answers: {load.failures}; e.g. {load.sample_failure}")
        with make_engine(url).connect() as connection:
            stored = connection.scalar(text("SELECT count(*) FROM limit_decisions"))
        print(f"limit decisions stored (warm-up included): {stored:,}")
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    if args.skip_pgbench:
        return
    pgbench = find_pgbench()
    if pgbench is None:
        print(
            "pgbench not found (neither on PATH nor in /usr/lib/postgresql/*/bin): install Debian's "
            "postgresql-contrib or postgresql-client package to compare with TPC-B; ratio not computed"
        )
        return
    tps = pgbench_tps(pgbench, base_url, clients=args.clients, seconds=args.seconds, scale=args.pgbench_scale)
    if tps:
        ratio = decisions_per_second / tps
        print(
            f"ratio decisions/s / pgbench tps = {decisions_per_second:,.1f} / {tps:,.0f} = {ratio:.3f} "
            f"(target >= {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'NOT met'}); "
            f"p99 {p99 * 1000:.1f} ms < {TARGET_P99_MS:.0f} ms: {'yes' if p99 * 1000 < TARGET_P99_MS else 'NO'}"
        )


if __name__ == "__main__":
    main()

"""Shared fixtures: the same tests run on SQLite and, when configured, on PostgreSQL.

``TRADECOVER_TEST_DATABASE_URL`` names a PostgreSQL database (``make test`` sets it
when the server answers). Each test session migrates a private schema there once;
each test then starts from empty tables.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tradecover.bootstrap import Container, build
from tradecover.config import Environment, Settings
from tradecover.domain.periods import FixedClock
from tradecover.persistence.engine import make_engine
from tradecover.persistence.migrate import upgrade
from tradecover.persistence.tables import metadata
from tradecover.services import security

PG_ENV = "TRADECOVER_TEST_DATABASE_URL"
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> None:
    # Still argon2id, with test-sized cost: hundreds of users are created per run.
    security.configure_password_hashing(time_cost=1, memory_cost=8)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _with_search_path(url: str, schema: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    base = os.environ.get(PG_ENV)
    if not base:
        yield None
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    schema = f"tc_{worker}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _with_search_path(base, schema)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def empty_postgres(url: str) -> None:
    """Delete every row, with the triggers (append-only guards, foreign keys) off for this transaction.

    DELETE on the few rows a test leaves is some forty times faster than TRUNCATE on fifty tables, which
    creates new files for every table each time.
    """
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(metadata.sorted_tables):
            connection.execute(text(f'DELETE FROM "{table.name}"'))
        sequences = connection.execute(
            text("SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()")
        ).scalars()
        for name in list(sequences):
            connection.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))
    engine.dispose()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, postgres_url: str | None
) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "tradecover.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    if postgres_url is None:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped")
    empty_postgres(postgres_url)
    return postgres_url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def container(database_url: str, clock: FixedClock) -> Iterator[Container]:
    settings = Settings(database_url=database_url, environment=Environment.TEST)
    built = build(settings, clock=clock)
    yield built
    built.dispose()


@pytest.fixture
def engine(container: Container) -> Engine:
    return container.engine


REQUIRE_ENV = "TRADECOVER_REQUIRE_POSTGRES"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(REQUIRE_ENV) == "1" and not os.environ.get(PG_ENV):
        raise pytest.UsageError(f"{REQUIRE_ENV}=1 but {PG_ENV} is not set")


_postgres_passed: list[str] = []
_postgres_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "postgresql" not in report.nodeid:
        return
    if report.when == "call" and report.passed:
        _postgres_passed.append(report.nodeid)
    elif report.skipped:
        _postgres_skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With the requirement on, skipped or absent PostgreSQL tests fail the run."""
    if os.environ.get(REQUIRE_ENV) != "1" or hasattr(session.config, "workerinput"):
        return
    if _postgres_skipped or not _postgres_passed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"PostgreSQL required: {len(_postgres_passed)} PostgreSQL tests passed, "
                f"{len(_postgres_skipped)} skipped",
                red=True,
            )

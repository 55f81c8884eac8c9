"""The ``tradecover`` command line, in process through Typer's runner, on each backend."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from stdnum.fr import siren as fr_siren
from typer.testing import CliRunner, Result

from tradecover.api.app import create_app
from tradecover.cli import main as cli_main
from tradecover.cli.main import app
from tradecover.config import Settings
from tradecover.persistence.engine import make_engine
from tradecover.persistence.migrate import head_revision
from tradecover.persistence.tables import metadata
from tradecover.services.demo_book import DEMO_PASSWORD

API = "/api/v1"
PASSWORD = "correct horse battery"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
DEMO_BUYERS = 40
HEAD = head_revision()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", database_url)
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    # wide consoles, so that tables are not truncated nor messages wrapped, whatever the terminal
    for console in (cli_main.console, cli_main.errors):
        monkeypatch.setattr(console, "_width", 200)
    return database_url


@pytest.fixture
def db(cli_env: str) -> Iterator[Engine]:
    engine = make_engine(cli_env)
    yield engine
    engine.dispose()


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result


def output(result: Result) -> str:
    """Everything shown on the terminal (stdout and stderr), without colours or line wrapping."""
    return " ".join(ANSI.sub("", result.output).split())


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json").stdout)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


@pytest.fixture
def api(cli_env: str) -> Iterator[TestClient]:
    application = create_app(Settings(database_url=cli_env))
    with TestClient(application, raise_server_exceptions=False) as client:
        yield client
    application.state.container.dispose()


def login(client: TestClient, email: str, password: str) -> dict[str, str]:
    response = client.post(f"{API}/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def empty_database(engine: Engine) -> None:
    """Empty every table (append-only triggers do not fire on TRUNCATE; SQLite's are set aside)."""
    with engine.begin() as connection:
        if is_sqlite(str(engine.url)):
            triggers = connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_no_delete'")
            ).all()
            for name, _ in triggers:
                connection.execute(text(f"DROP TRIGGER {name}"))
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())
            for _, sql in triggers:
                connection.execute(text(sql))
        else:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


# ---------------------------------------------------------------------- database


def test_db_upgrade_is_idempotent(cli_env: str, db: Engine) -> None:
    for _ in range(2):
        assert f"database at revision {HEAD}" in output(run("db", "upgrade"))
    with db.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD


def test_db_upgrade_creates_a_new_sqlite_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    assert f"database at revision {HEAD}" in output(run("db", "upgrade"))
    assert f"database at revision {HEAD}" in output(run("db", "upgrade"))
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 0
    engine.dispose()


def test_production_refuses_the_default_secret(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "production")
    monkeypatch.delenv("TRADECOVER_SECRET_KEY", raising=False)
    result = run("organisations", "list", code=1)
    assert "configuration error" in output(result)
    assert "TRADECOVER_SECRET_KEY" in output(result)


# ------------------------------------------------------------------------- users


def test_users_create(cli_env: str, db: Engine) -> None:
    result = run("users", "create", "--email", "Root@Example.FR", "--role", "admin", "--password", PASSWORD)
    assert "created user root@example.fr (admin)" in output(result)
    user = run_json("users", "create", "--email", "uw@example.fr", "--role", "underwriter", "--password", PASSWORD)
    assert set(user) == {"id", "email", "role", "organisation_id"}
    assert user["email"] == "uw@example.fr"
    assert user["role"] == "underwriter"
    organisations = run_json("organisations", "list")
    assert [o["kind"] for o in organisations] == ["insurer"]
    assert user["organisation_id"] == organisations[0]["id"]  # staff join the insurer
    with db.connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM users WHERE id = :id"), {"id": user["id"]})
        password_hash = stored.scalar_one()
    assert PASSWORD not in password_hash
    assert password_hash.startswith("$argon2id$")


def test_users_create_for_an_organisation_by_name(cli_env: str, api: TestClient) -> None:
    run("users", "create", "--email", "admin@example.fr", "--role", "admin", "--password", PASSWORD)
    admin = login(api, "admin@example.fr", PASSWORD)
    created = api.post(f"{API}/organisations", json={"kind": "policyholder", "name": "Acme SAS"}, headers=admin)
    assert created.status_code == 201, created.text
    user = run_json(
        "users",
        "create",
        "--email",
        "credit@acme.fr",
        "--role",
        "insured_user",
        "--organisation",
        "Acme SAS",
        "--password",
        PASSWORD,
    )
    assert user["organisation_id"] == created.json()["id"]
    me = api.get(f"{API}/me", headers=login(api, "credit@acme.fr", PASSWORD)).json()
    assert me["role"] == "insured_user"
    assert me["organisation"]["name"] == "Acme SAS"


def test_non_staff_user_needs_an_organisation(cli_env: str, db: Engine) -> None:
    result = run("users", "create", "--email", "x@example.fr", "--role", "insured_user", "--password", PASSWORD, code=1)
    assert "--organisation is required for non-staff roles" in output(result)
    unknown = run(
        "users",
        "create",
        "--email",
        "x@example.fr",
        "--role",
        "broker_user",
        "--organisation",
        "Nowhere SARL",
        "--password",
        PASSWORD,
        code=1,
    )
    assert "no organisation named or with id 'Nowhere SARL'" in output(unknown)
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 0


def test_duplicate_email(cli_env: str, db: Engine) -> None:
    run("users", "create", "--email", "dup@example.fr", "--role", "admin", "--password", PASSWORD)
    result = run("users", "create", "--email", "DUP@example.fr", "--role", "collector", "--password", PASSWORD, code=1)
    text_out = output(result)
    assert "user.email_taken" in text_out
    assert "dup@example.fr" in text_out
    assert "field: email" in text_out
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 1


def test_weak_password(cli_env: str) -> None:
    result = run("users", "create", "--email", "w@example.fr", "--role", "admin", "--password", "short", code=1)
    assert "user.weak_password" in output(result)


def test_unknown_role(cli_env: str) -> None:
    result = run("users", "create", "--email", "w@example.fr", "--role", "king", "--password", PASSWORD, code=2)
    assert "king" in output(result)


# ---------------------------------------------------------------------- API keys


def test_api_key_from_the_cli_authenticates(cli_env: str, api: TestClient) -> None:
    user = run_json("users", "create", "--email", "erp@example.fr", "--role", "admin", "--password", PASSWORD)
    key = run_json("api-keys", "create", "--email", "ERP@example.fr", "--name", "nightly export")
    assert set(key) == {"id", "prefix", "token"}
    assert key["token"].startswith(f"tck_{key['prefix']}_")

    for headers in ({"X-API-Key": key["token"]}, {"Authorization": f"Bearer {key['token']}"}):
        me = api.get(f"{API}/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["user_id"] == user["id"]
        assert me.json()["via_api_key"] == key["id"]
    listed = api.get(f"{API}/api-keys", headers={"X-API-Key": key["token"]}).json()
    assert [k["name"] for k in listed["items"]] == ["nightly export"]
    assert "token" not in listed["items"][0]

    wrong = api.get(f"{API}/me", headers={"X-API-Key": key["token"][:-2] + "zz"})
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "auth.invalid_api_key"


def test_api_key_for_an_unknown_user(cli_env: str) -> None:
    result = run("api-keys", "create", "--email", "ghost@example.fr", "--name", "n", code=1)
    assert "no user with e-mail 'ghost@example.fr'" in output(result)


# --------------------------------------------------------------------- demo book


def demo_sirens(api: TestClient) -> list[str]:
    admin = login(api, "admin@demo.tradecover.fr", DEMO_PASSWORD)
    response = api.get(f"{API}/buyers", params={"limit": 500}, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return [b["identifiers"]["siren"] for b in body["items"]]


def test_demo_book(cli_env: str, db: Engine, api: TestClient) -> None:
    summary = run_json("demo", "load", "--buyers", str(DEMO_BUYERS))
    assert summary["policies"] == 3
    assert summary["buyers"] == DEMO_BUYERS
    assert summary["organisations"] == 6
    assert summary["password"] == DEMO_PASSWORD
    assert summary["groups"] == 1
    assert len(summary["logins"]) == 10
    # each policy's first provisional premium instalment is due on its start, 1 January of this year
    assert summary["premium_documents"] >= 3
    assert summary["claims"] >= 1  # claims on the insolvent buyers, for the claims handler
    assert summary["offers"] == 3  # three insurers' offers for the first insured, for its broker to compare

    sirens = demo_sirens(api)
    assert len(sirens) == DEMO_BUYERS
    assert len(set(sirens)) == DEMO_BUYERS
    assert all(fr_siren.is_valid(s) for s in sirens), [s for s in sirens if not fr_siren.is_valid(s)]
    organisations = run_json("organisations", "list")
    assert sorted(o["kind"] for o in organisations) == [
        "broker",
        "factor",
        "insurer",
        "policyholder",
        "policyholder",
        "policyholder",
    ]
    assert all(fr_siren.is_valid(o["siren"]) for o in organisations if o["kind"] != "insurer")
    admin = login(api, "admin@demo.tradecover.fr", DEMO_PASSWORD)
    policies = api.get(f"{API}/policies", headers=admin).json()
    assert policies["total"] == 3
    insured = login(api, "metallerie@demo.tradecover.fr", DEMO_PASSWORD)
    own = api.get(f"{API}/policies", headers=insured).json()
    assert own["total"] == 1
    assert own["items"][0]["terms"] is None  # lists do not embed the terms
    terms = api.get(f"{API}/policies/{own['items'][0]['id']}", headers=insured).json()["terms"]["terms"]
    assert terms["premium_rates"] == {"domestic_rate": "0.0028", "export_rate": "0.0042"}
    assert terms["covered_countries"] == ["FR", "DE", "IT", "ES", "BE"]
    broker = api.get(f"{API}/me", headers=login(api, "broker@demo.tradecover.fr", DEMO_PASSWORD)).json()
    assert len(broker["mandates"]) == 2

    # a loaded database is refused, unless --if-empty
    again = run("demo", "load", "--buyers", "5", code=1)
    assert "demo.already_loaded" in output(again)
    assert "nothing to do" in output(run("demo", "load", "--buyers", "5", "--if-empty"))
    assert len(demo_sirens(api)) == DEMO_BUYERS

    logins = run_json("demo", "logins")
    assert len(logins) == 10
    assert {row["password"] for row in logins} == {DEMO_PASSWORD}
    by_email = {row["email"]: row for row in logins}
    assert by_email["admin@demo.tradecover.fr"]["role"] == "admin"
    assert by_email["broker@demo.tradecover.fr"]["role"] == "broker_user"
    assert by_email["metallerie@demo.tradecover.fr"]["organisation"] == "Métallerie Rhône-Alpes SAS"
    assert {(e, r, o) for e, r, o in summary["logins"]} == {
        (row["email"], row["role"], row["organisation"]) for row in logins
    }
    for email in by_email:
        login(api, email, DEMO_PASSWORD)
    table = output(run("demo", "logins"))
    assert "underwriter@demo.tradecover.fr" in table
    assert DEMO_PASSWORD in table

    # the same seed on an empty database gives the same book
    empty_database(db)
    assert output(run("demo", "logins")).startswith("no demo logins")
    second = run_json("demo", "load", "--buyers", str(DEMO_BUYERS))
    assert {k: v for k, v in second.items() if k != "logins"} == {k: v for k, v in summary.items() if k != "logins"}
    assert set(demo_sirens(api)) == set(sirens)
    # another seed gives another book
    empty_database(db)
    run_json("demo", "load", "--buyers", "10", "--seed", "7")
    assert not set(demo_sirens(api)) & set(sirens)


def test_demo_load_without_json_prints_the_logins(cli_env: str) -> None:
    shown = output(run("demo", "load", "--buyers", "3"))
    assert "3 policies, 3 buyers" in shown
    assert "admin@demo.tradecover.fr" in shown
    assert DEMO_PASSWORD in shown


# ------------------------------------------------------------------------- audit


def tamper(engine: Engine, tenant: str, sequence: int) -> None:
    """Rewrite one event's summary, going around the database's append-only rule."""
    update = text("UPDATE audit_events SET summary = :summary WHERE tenant = :tenant AND sequence = :sequence")
    params = {"summary": json.dumps({"after": {"name": "forged"}}), "tenant": tenant, "sequence": sequence}
    with engine.begin() as connection:
        if is_sqlite(str(engine.url)):
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
            assert connection.execute(update, params).rowcount == 1
        else:  # DDL is transactional on PostgreSQL: the trigger is off for this update only
            connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
            assert connection.execute(update, params).rowcount == 1
            connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))


def test_audit_verify_and_tampering(cli_env: str, db: Engine) -> None:
    run("demo", "load", "--buyers", "12", "--json")
    intact = output(run("audit", "verify"))
    assert intact.startswith("audit log intact")
    report = run_json("audit", "verify")
    assert report["ok"] is True
    assert report["breaks"] == []
    with db.connect() as connection:
        events = connection.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
        tenants = connection.execute(text("SELECT count(DISTINCT tenant) FROM audit_events")).scalar_one()
        tenant, sequence = connection.execute(
            text(
                "SELECT tenant, sequence FROM audit_events WHERE tenant <> 'insurer' "
                "ORDER BY tenant, sequence LIMIT 1 OFFSET 1"
            )
        ).one()
    assert report["events"] == events
    assert report["tenants"] == tenants
    assert tenants >= 6  # the insurer's chain and one per other organisation
    assert sequence == 2

    tamper(db, tenant, sequence)
    broken = run("audit", "verify", code=1)
    shown = output(broken)
    assert f"TAMPERED tenant {tenant} event #{sequence}" in shown
    assert "content does not match its hash" in shown
    assert "1 problem(s)" in shown
    result = CliRunner().invoke(app, ["audit", "verify", "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["events"] == events
    assert report["breaks"] == [{"tenant": tenant, "sequence": sequence, "problem": "content does not match its hash"}]


def test_audit_verify_detects_a_deleted_event(cli_env: str, db: Engine) -> None:
    run("users", "create", "--email", "a@example.fr", "--role", "admin", "--password", PASSWORD)
    run("users", "create", "--email", "b@example.fr", "--role", "admin", "--password", PASSWORD)
    run("users", "create", "--email", "c@example.fr", "--role", "admin", "--password", PASSWORD)
    assert run_json("audit", "verify")["events"] == 4  # insurer created, three users
    with db.begin() as connection:
        if is_sqlite(cli_env):
            connection.execute(text("DROP TRIGGER audit_events_no_delete"))
            connection.execute(text("DELETE FROM audit_events WHERE sequence = 2"))
        else:
            connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
            connection.execute(text("DELETE FROM audit_events WHERE sequence = 2"))
            connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    shown = output(run("audit", "verify", code=1))
    assert "TAMPERED tenant insurer event #3: sequence gap: expected 2" in shown
    assert "TAMPERED tenant insurer event #3: previous hash does not match" in shown


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET summary = '{}'",
        "UPDATE audit_events SET reason = 'x' WHERE sequence = 1",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE sequence = 1",
    ],
)
def test_the_database_refuses_to_change_the_audit_log(cli_env: str, db: Engine, statement: str) -> None:
    run("users", "create", "--email", "a@example.fr", "--role", "admin", "--password", PASSWORD)
    with db.connect() as connection:
        before = connection.execute(text("SELECT tenant, sequence, summary, hash FROM audit_events")).all()
    assert len(before) == 2
    with pytest.raises(DBAPIError, match="append-only"), db.begin() as connection:
        connection.execute(text(statement))
    with db.connect() as connection:
        assert connection.execute(text("SELECT tenant, sequence, summary, hash FROM audit_events")).all() == before
    assert run_json("audit", "verify")["ok"] is True


def test_an_unmigrated_database_says_to_upgrade_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRADECOVER_DATABASE_URL", f"sqlite:///{tmp_path / 'never-migrated.db'}")
    monkeypatch.setenv("TRADECOVER_ENVIRONMENT", "test")
    result = run("demo", "logins", code=1)
    assert "run `tradecover db upgrade` first" in output(result)
    assert "Traceback" not in output(result)

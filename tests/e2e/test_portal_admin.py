"""The administrator's pages through the app factory: organisations and users, mandates, API keys.

The world (api_world.py) has the insurer's staff, insureds A and B, the broker mandated by A (Broker SAS), a
second broker mandated by B, a factor. Runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from api_world import World
from api_world import login as api_login
from fastapi.testclient import TestClient
from portal_support import csrf_token, log_in, page

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.services import accounts
from tradecover.services.authorization import system_actor
from tradecover.services.ports import Page

NEW_PASSWORD = "un mot de passe solide"


@pytest.fixture
def client(container: Container, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), follow_redirects=False) as opened:
        yield opened


@pytest.fixture
def admin(client: TestClient, world: World) -> TestClient:
    log_in(client, world.emails["admin"])
    return client


def organisation_named(container: Container, world: World, name: str) -> str | None:
    with container.uow() as uow:
        found = uow.organisations.find_by_name(name)
    return found.id if found is not None else None


def user_count(container: Container, world: World, organisation_id: str) -> int:
    with container.uow() as uow:
        return accounts.list_users(uow, system_actor(world.insurer_id), organisation_id, Page())[1]


def mandate_count(container: Container, world: World) -> int:
    with container.uow() as uow:
        return accounts.list_mandates(uow, system_actor(world.insurer_id), Page())[1]


def key_count(container: Container, world: World) -> int:
    with container.uow() as uow:
        return accounts.list_api_keys(uow, system_actor(world.insurer_id), Page())[1]


def alert_of(html: str, error_id: str) -> str:
    found = re.search(rf'<div role="alert" id="{error_id}"[^>]*data-code="([^"]+)">\s*<p>(.*?)</p>', html, re.S)
    assert found, html
    return f"{found.group(1)}: {found.group(2).strip()}"


def test_the_admin_creates_an_organisation_and_a_user_who_then_logs_in(
    admin: TestClient, container: Container, world: World
) -> None:
    html = page(admin, "/admin/users?lang=en")
    assert 'aria-current="page"' in html
    assert 'id="nav-admin"' in html
    assert 'href="/audit"' in html
    assert "Insured A SAS" in html
    assert "Broker SAS" in html
    assert 'data-email="insured_user@example.fr"' in html
    assert "insured_user · insured_user@example.fr · Insured" in html
    brokers = page(admin, "/admin/users?kind=broker")
    assert "Broker SAS" in brokers
    assert "Insured A SAS" not in brokers

    data = {"kind": "policyholder", "name": "  Nouvel   Assuré SAS ", "country": "fr", "siren": "443 061 841"}
    response = admin.post("/admin/organisations", data={**data, "csrf_token": csrf_token(html)})
    assert response.status_code == 303, response.text
    organisation_id = organisation_named(container, world, "Nouvel Assuré SAS")
    assert organisation_id
    assert response.headers["location"] == f"/admin/organisations/{organisation_id}?created=1"
    html = page(admin, response.headers["location"])
    assert 'id="organisation-created"' in html
    assert "SIREN 443061841" in html
    assert 'id="no-user"' in html
    roles = re.findall(r'<option value="(\w+)"', html.split('id="user-form"')[1])
    assert roles == ["insured_user"]  # the only role an insured's user may hold

    data = {"full_name": "Nina Nouvelle", "email": "Nina@Nouvel.fr", "role": "insured_user", "password": NEW_PASSWORD}
    response = admin.post(
        f"/admin/organisations/{organisation_id}/users", data={**data, "csrf_token": csrf_token(html)}
    )
    assert response.status_code == 303, response.text
    html = page(admin, response.headers["location"])
    assert 'id="user-added"' in html
    assert 'data-email="nina@nouvel.fr"' in html
    with container.uow() as uow:
        events, _ = uow.audit.list_page(tenants=frozenset({organisation_id}), page=Page())
    assert {"organisation.created", "user.created"} <= {e.action for e in events}

    admin.cookies.clear()
    login_html = page(admin, "/login")
    response = admin.post(
        "/login", data={"email": "nina@nouvel.fr", "password": NEW_PASSWORD, "csrf_token": csrf_token(login_html)}
    )
    assert response.status_code == 303
    home = page(admin, "/home")
    assert "Nina Nouvelle" in home
    assert "Nouvel Assuré SAS" in home
    assert 'id="nav-admin"' not in home
    assert admin.get("/admin/users").status_code == 403  # an insured's user is no administrator


def test_refusals_are_shown_in_the_form_with_the_values_kept_and_nothing_stored(
    admin: TestClient, container: Container, world: World
) -> None:
    html = page(admin, "/admin/users")
    token = csrf_token(html)
    bad_siren = {"kind": "broker", "name": "Courtier Neuf", "country": "FR", "siren": "123456789", "csrf_token": token}
    response = admin.post("/admin/organisations", data=bad_siren)
    assert response.status_code == 422
    assert alert_of(response.text, "organisation-error").startswith("identifier.invalid_siren: Ce numéro SIREN")
    assert 'value="Courtier Neuf"' in response.text
    assert 'value="123456789" aria-invalid="true"' in response.text
    assert '<option value="broker" selected>' in response.text
    assert organisation_named(container, world, "Courtier Neuf") is None
    taken = {**bad_siren, "name": "Insured B SARL", "siren": ""}
    response = admin.post("/admin/organisations?lang=en", data=taken)
    assert response.status_code == 422
    assert alert_of(response.text, "organisation-error") == (
        "organisation.name_taken: An organisation of this name already exists."
    )
    bad_country = {**bad_siren, "country": "France", "siren": ""}
    assert admin.post("/admin/organisations", data=bad_country).status_code == 422
    insurer = {**bad_siren, "kind": "insurer", "siren": ""}
    assert admin.post("/admin/organisations", data=insurer).status_code == 422
    assert organisation_named(container, world, "Courtier Neuf") is None

    url = f"/admin/organisations/{world.insured_a}/users"
    before = user_count(container, world, world.insured_a)
    token = csrf_token(page(admin, f"/admin/organisations/{world.insured_a}"))
    duplicate = {
        "full_name": "Doublon",
        "email": world.emails["insured_user_b"].upper(),
        "role": "insured_user",
        "password": NEW_PASSWORD,
        "csrf_token": token,
    }
    response = admin.post(url + "?lang=fr", data=duplicate)
    assert response.status_code == 422
    assert alert_of(response.text, "user-error") == (
        "user.email_taken: Un utilisateur avec cette adresse e-mail existe déjà."
    )
    assert 'value="Doublon"' in response.text
    assert 'value="INSURED_USER_B@EXAMPLE.FR"' in response.text
    assert NEW_PASSWORD not in response.text  # the password is never sent back
    weak = {**duplicate, "email": "neuf@example.fr", "password": "court"}
    response = admin.post(url + "?lang=en", data=weak)
    assert response.status_code == 422
    assert alert_of(response.text, "user-error") == "user.weak_password: The password must have at least 10 characters."
    wrong_role = {**duplicate, "email": "neuf@example.fr", "role": "underwriter"}
    response = admin.post(url, data=wrong_role)
    assert response.status_code == 422
    assert alert_of(response.text, "user-error").startswith("user.role_not_allowed:")
    assert admin.post(url, data={**wrong_role, "email": "pas une adresse"}).status_code == 422
    assert user_count(container, world, world.insured_a) == before
    assert admin.post("/admin/organisations/no-such-org/users", data=wrong_role).status_code == 404
    assert admin.get("/admin/organisations/no-such-org").status_code == 404


def test_only_the_administrator_may_see_or_post_the_admin_pages(
    client: TestClient, container: Container, world: World
) -> None:
    assert client.get("/admin/users").headers["location"] == "/login"
    assert client.get("/admin/api-keys").headers["location"] == "/login"
    keys_before, mandates_before = key_count(container, world), mandate_count(container, world)
    for who in ("insured_user", "underwriter", "broker_user"):
        client.cookies.clear()
        log_in(client, world.emails[who])
        home = page(client, "/home")
        assert 'id="nav-admin"' not in home
        token = csrf_token(home)  # a valid token of the user's session: the role alone is refused
        for url in ("/admin/users", f"/admin/organisations/{world.insured_a}", "/admin/mandates", "/admin/api-keys"):
            response = client.get(url)
            assert response.status_code == 403, (who, url)
            assert 'id="error-message"' in response.text
        posts = {
            "/admin/organisations": {"kind": "broker", "name": f"Intrus {who}", "country": "FR"},
            f"/admin/organisations/{world.insured_a}/users": {
                "full_name": "Intrus",
                "email": f"intrus.{who}@example.fr",
                "role": "insured_user",
                "password": NEW_PASSWORD,
            },
            "/admin/mandates": {
                "broker_id": world.broker_id,
                "insured_id": world.insured_b,
                "start_date": "2026-03-15",
                "scope": "act",
            },
            "/admin/api-keys": {"name": "intrus"},
        }
        for url, data in posts.items():
            assert client.post(url, data={**data, "csrf_token": token}).status_code == 403, (who, url)
        assert organisation_named(container, world, f"Intrus {who}") is None
        with container.uow() as uow:
            assert uow.users.by_email(f"intrus.{who}@example.fr") is None
    assert key_count(container, world) == keys_before
    assert mandate_count(container, world) == mandates_before


def test_forms_without_the_csrf_token_are_refused(admin: TestClient, container: Container, world: World) -> None:
    keys_before, mandates_before = key_count(container, world), mandate_count(container, world)
    for token in ("", "0" * 64):
        response = admin.post(
            "/admin/organisations", data={"kind": "broker", "name": "Sans Jeton", "country": "FR", "csrf_token": token}
        )
        assert response.status_code == 403
        assert "expiré" in response.text
        response = admin.post(
            f"/admin/organisations/{world.insured_a}/users",
            data={
                "email": "sans.jeton@example.fr",
                "role": "insured_user",
                "password": NEW_PASSWORD,
                "csrf_token": token,
            },
        )
        assert response.status_code == 403
        mandate = {"broker_id": world.broker_id, "insured_id": world.insured_b, "start_date": "2026-03-15"}
        assert admin.post("/admin/mandates", data={**mandate, "scope": "read", "csrf_token": token}).status_code == 403
        assert admin.post("/admin/api-keys", data={"name": "sans jeton", "csrf_token": token}).status_code == 403
    assert organisation_named(container, world, "Sans Jeton") is None
    with container.uow() as uow:
        assert uow.users.by_email("sans.jeton@example.fr") is None
    assert key_count(container, world) == keys_before
    assert mandate_count(container, world) == mandates_before


def test_an_api_key_works_on_the_api_until_revoked(admin: TestClient, container: Container, world: World) -> None:
    html = page(admin, "/admin/api-keys")
    assert 'id="no-key"' in html
    response = admin.post("/admin/api-keys", data={"name": "   ", "csrf_token": csrf_token(html)})
    assert response.status_code == 422
    assert alert_of(response.text, "key-error").startswith("api_key.invalid_name:")
    assert key_count(container, world) == 0

    response = admin.post("/admin/api-keys", data={"name": "ERP comptable", "csrf_token": csrf_token(html)})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    found = re.search(r'<input type="text" id="api-key-token" readonly value="([^"]+)"', response.text)
    assert found, response.text
    token = found.group(1)
    assert 'id="key-warning"' in response.text
    assert "plus jamais" in response.text

    api = admin.get("/api/v1/organisations", headers={"X-API-Key": token})
    assert api.status_code == 200, api.text
    assert api.json()["total"] >= 6
    listed = page(admin, "/admin/api-keys")
    assert token not in listed  # shown once, never again
    row = re.search(r'<tr data-key-id="([^"]+)" data-state="active">(.*?)</tr>', listed, re.S)
    assert row
    assert "ERP comptable" in row.group(2)
    assert "admin@example.fr" in row.group(2)
    key_id = row.group(1)
    assert token.split("_")[-1] not in listed

    assert admin.post(f"/admin/api-keys/{key_id}/revoke", data={"csrf_token": ""}).status_code == 403
    assert admin.get("/api/v1/organisations", headers={"X-API-Key": token}).status_code == 200
    response = admin.post(f"/admin/api-keys/{key_id}/revoke", data={"csrf_token": csrf_token(listed)})
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/api-keys?revoked={key_id}#key-revoked"
    listed = page(admin, f"/admin/api-keys?revoked={key_id}&lang=en")
    assert 'id="key-revoked"' in listed
    assert "The key ERP comptable is revoked" in listed
    assert f'data-key-id="{key_id}" data-state="revoked"' in listed
    assert admin.get("/api/v1/organisations", headers={"X-API-Key": token}).status_code == 401
    again = admin.post(f"/admin/api-keys/{key_id}/revoke", data={"csrf_token": csrf_token(listed)})
    assert again.status_code == 400
    assert admin.post("/admin/api-keys/no-such-key/revoke", data={"csrf_token": csrf_token(listed)}).status_code == 404


def test_a_mandate_created_shows_the_insured_on_the_brokers_home(
    client: TestClient, container: Container, world: World
) -> None:
    log_in(client, world.emails["broker_user"])
    assert "Insured B SARL" not in page(client, "/home")
    client.cookies.clear()
    log_in(client, world.emails["admin"])
    html = page(client, "/admin/mandates?lang=en")
    assert "Broker SAS" in html
    assert "Other Broker SARL" in html
    assert html.count("In force") >= 2  # the world's two mandates
    form = html.split('id="mandate-form"')[1]
    assert f'<option value="{world.insured_b}">Insured B SARL</option>' in form
    assert "Factor SA" not in form
    before = mandate_count(container, world)
    mandate = {
        "broker_id": world.broker_id,
        "insured_id": world.insured_b,
        "scope": "read",
        "start_date": "2026-03-01",
        "end_date": "2026-02-01",
        "csrf_token": csrf_token(html),
    }
    response = client.post("/admin/mandates?lang=fr", data=mandate)
    assert response.status_code == 422
    assert (
        alert_of(response.text, "mandate-error")
        == "mandate.invalid_period: Le mandat doit prendre fin après son début."
    )
    assert 'value="2026-02-01" aria-invalid="true"' in response.text
    assert f'<option value="{world.insured_b}" selected>' in response.text
    assert client.post("/admin/mandates", data={**mandate, "start_date": "1 mars", "end_date": ""}).status_code == 422
    assert (
        client.post("/admin/mandates", data={**mandate, "insured_id": world.factor_id, "end_date": ""}).status_code
        == 422
    )
    assert mandate_count(container, world) == before
    assert client.post("/admin/mandates", data={**mandate, "insured_id": "nope", "end_date": ""}).status_code == 404

    response = client.post("/admin/mandates", data={**mandate, "end_date": "2027-01-01"})
    assert response.status_code == 303
    assert mandate_count(container, world) == before + 1
    listed = page(client, response.headers["location"])
    assert 'id="mandate-created"' in listed
    row = re.search(r'<tr data-mandate-id="[^"]+" class="is-new">(.*?)</tr>', listed, re.S)
    assert row
    assert "Insured B SARL" in row.group(1)
    assert "Consultation seule" in row.group(1)
    assert "1 janv. 2027" in row.group(1)

    client.cookies.clear()
    log_in(client, world.emails["broker_user"])
    home = page(client, "/home")
    assert "Insured B SARL" in home
    assert "Insured A SAS" in home


def test_the_admin_disables_enables_and_changes_the_role_of_users(
    admin: TestClient, container: Container, world: World
) -> None:
    victim_id, collector_id = world.user_ids["insured_user"], world.user_ids["collector"]
    with TestClient(create_app(container=container), follow_redirects=False) as victim:
        log_in(victim, world.emails["insured_user"])
        bearer = api_login(victim, world.emails["insured_user"])
        assert victim.get("/home").status_code == 200
        assert victim.get("/api/v1/me", headers=bearer).status_code == 200

        url = f"/admin/organisations/{world.insured_a}"
        html = page(admin, url + "?lang=en")
        assert f'action="{url}/users/{victim_id}/active"' in html
        assert 'name="active" value="false"' in html
        token = csrf_token(html)
        active_url, role_url = f"{url}/users/{victim_id}/active", f"{url}/users/{victim_id}/role"

        # Refusals: no reason, a role the insured's kind does not allow, no CSRF token; nothing changes.
        response = admin.post(active_url, data={"active": "false", "reason": "  ", "csrf_token": token})
        assert response.status_code == 422
        assert alert_of(response.text, "change-error") == (
            "user.reason_required: Give the reason for the change, in 1 to 500 characters."
        )
        response = admin.post(role_url, data={"role": "underwriter", "reason": "essai", "csrf_token": token})
        assert response.status_code == 422
        assert alert_of(response.text, "change-error").startswith("user.role_not_allowed:")
        assert 'value="essai"' in response.text  # the typed reason is kept
        assert admin.post(active_url, data={"active": "false", "reason": "x", "csrf_token": ""}).status_code == 403
        assert victim.get("/home").status_code == 200

        # Disabled: the victim's session is sent to the login page, its API token refused, its login too.
        response = admin.post(active_url, data={"active": "false", "reason": "Départ", "csrf_token": token})
        assert response.status_code == 303, response.text
        assert response.headers["location"] == f"{url}?changed={victim_id}&change=disabled#user-changed"
        html = page(admin, response.headers["location"].replace("#", "&lang=fr#"))
        assert 'id="user-changed"' in html
        assert "insured_user@example.fr est désactivé" in html
        assert 'name="active" value="true"' in html
        assert victim.get("/home").headers["location"] == "/login"
        assert victim.get("/api/v1/me", headers=bearer).status_code == 401
        refused = victim.post("/api/v1/auth/token", data={"username": world.emails["insured_user"], "password": "x"})
        assert refused.status_code == 401
        with container.uow() as uow:
            events, _ = uow.audit.list_page(tenants=frozenset({world.insured_a}), page=Page())
            disabled = [e for e in events if e.action == "user.disabled"]
            assert len(disabled) == 1
            assert disabled[0].object_id == victim_id
            assert disabled[0].reason == "Départ"
            assert disabled[0].summary == {"before": {"active": True}, "after": {"active": False}}
            assert disabled[0].actor == f"user:{world.user_ids['admin']}"

        # Enabled again: the user logs in again.
        response = admin.post(active_url, data={"active": "true", "reason": "Retour", "csrf_token": token})
        assert response.status_code == 303
        victim.cookies.clear()
        log_in(victim, world.emails["insured_user"])
        assert victim.get("/home").status_code == 200

    # The administrator can neither disable itself nor change its own role.
    own_url = f"/admin/organisations/{world.insurer_id}/users/{world.user_ids['admin']}"
    response = admin.post(own_url + "/active", data={"active": "false", "reason": "oups", "csrf_token": token})
    assert response.status_code == 422
    assert alert_of(response.text, "change-error").startswith("user.cannot_disable_self:")
    response = admin.post(own_url + "/role", data={"role": "collector", "reason": "oups", "csrf_token": token})
    assert response.status_code == 422
    assert "Vous ne pouvez pas changer votre propre rôle." in response.text
    assert page(admin, "/home")  # still logged in, still an administrator

    # A role change on the insurer's staff, shown on the next page.
    staff_url = f"/admin/organisations/{world.insurer_id}/users/{collector_id}/role"
    response = admin.post(staff_url, data={"role": "risk_manager", "reason": "Mutation", "csrf_token": token})
    assert response.status_code == 303
    html = page(admin, response.headers["location"].replace("#", "&lang=en#"))
    assert "collector@example.fr now has the role Risk manager." in html
    with container.uow() as uow:
        user = uow.users.get(collector_id)
        assert user is not None
        assert user.role.value == "risk_manager"
        victim_user = uow.users.get(victim_id)
        assert victim_user is not None
        assert victim_user.active
        assert victim_user.role.value == "insured_user"

    # Anyone else is refused, with a valid token of its own session.
    admin.cookies.clear()
    log_in(admin, world.emails["underwriter"])
    own_token = csrf_token(page(admin, "/home"))
    data = {"active": "false", "reason": "intrus", "csrf_token": own_token}
    assert admin.post(f"/admin/organisations/{world.insured_a}/users/{victim_id}/active", data=data).status_code == 403
    with container.uow() as uow:
        victim_user = uow.users.get(victim_id)
        assert victim_user is not None
        assert victim_user.active

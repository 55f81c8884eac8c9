"""The portal through the app factory: login, session cookie, CSRF, languages and each role's home page.

The world (api_world.py) has two insureds, A and B, each with a policy, a buyer and a ledger; a broker
mandated by A only; the insurer's staff. Runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from api_world import PASSWORD, World, add_claims, add_receivables, build_world, claims_of
from fastapi.testclient import TestClient
from httpx import Response
from portal_support import csrf_token

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.domain.periods import FixedClock
from tradecover.services.ports import Page
from tradecover.web.session import SESSION_HOURS

FR_AMOUNT = "1\u202f500,00\xa0€"  # Babel's fr_FR: narrow no-break space between thousands, no-break space before €
EN_AMOUNT = "€1,500.00"


@pytest.fixture
def portal_world(container: Container) -> World:
    return add_receivables(container, build_world(container))


@pytest.fixture
def visitor(container: Container, portal_world: World) -> Iterator[TestClient]:
    """A client that does not follow redirects, as a test of each step needs."""
    with TestClient(create_app(container=container), follow_redirects=False) as client:
        yield client


def set_cookies(response: Response) -> dict[str, str]:
    """Each Set-Cookie header of the response, by cookie name (the raw header)."""
    return {SimpleCookie(h).popitem()[0]: h for h in response.headers.get_list("set-cookie")}


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    token = csrf_token(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def logged_in_home(client: TestClient, email: str) -> str:
    assert log_in(client, email).status_code == 303
    home = client.get("/home")
    assert home.status_code == 200, home.text
    return home.text


# --- Logged out -------------------------------------------------------------------------------------------


def test_the_root_sends_a_visitor_to_the_login_page(visitor: TestClient) -> None:
    response = visitor.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    home = visitor.get("/home")
    assert home.status_code == 303
    assert home.headers["location"] == "/login"


def test_the_login_page_has_the_form_the_browser_tests_fill(visitor: TestClient) -> None:
    response = visitor.get("/login")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="fr">' in html
    assert '<form id="login-form" method="post" action="/login">' in html
    assert re.search(r'<label for="email">[^<]+</label>\s*<input id="email" name="email"', html)
    assert re.search(r'<label for="password">[^<]+</label>\s*<input id="password" name="password"', html)
    assert '<button type="submit" id="login-submit">' in html
    assert csrf_token(html)
    assert '<a href="?lang=en" id="lang-en">English</a>' in html
    assert '<a href="?lang=fr" id="lang-fr">Français</a>' in html
    assert 'href="#main"' in html
    assert '<main id="main">' in html
    assert "<nav" in html
    assert "Mot de passe" in html
    assert "Se connecter" in html
    assert "Content-Security-Policy" in response.headers
    assert response.headers["x-frame-options"] == "DENY"
    assert "tc_csrf" in set_cookies(response)


def test_the_stylesheet_is_served(visitor: TestClient) -> None:
    response = visitor.get("/static/portal.css")
    assert response.status_code == 200
    assert "overflow-x: auto" in response.text
    assert visitor.get("/static/../pages.py").status_code == 404


# --- Logging in and out -----------------------------------------------------------------------------------


def test_logging_in_sets_an_httponly_samesite_session_cookie(visitor: TestClient, portal_world: World) -> None:
    response = log_in(visitor, portal_world.emails["insured_user"])
    assert response.status_code == 303
    assert response.headers["location"] == "/home"
    cookie = set_cookies(response)["tc_session"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert f"max-age={SESSION_HOURS * 3600}" in cookie
    assert "secure" not in cookie  # plain http in tests; Secure over https and in production
    assert visitor.get("/").headers["location"] == "/home"
    assert visitor.get("/login").headers["location"] == "/home"


def test_a_failed_login_says_the_same_whether_the_address_exists_then_slows_guessing(
    visitor: TestClient, portal_world: World, container: Container
) -> None:
    error = '<p role="alert" id="login-error">L\'adresse e-mail ou le mot de passe est incorrect.</p>'
    for email, password in (
        (portal_world.emails["insured_user"], "not the password"),
        ("nobody@example.fr", "not the password"),
        ("", ""),
    ):
        response = log_in(visitor, email, password)
        assert response.status_code == 200
        assert error in response.text
        assert "tc_session" not in set_cookies(response)
        assert visitor.get("/home").status_code == 303

    email = portal_world.emails["insured_user"]
    for _ in range(container.login_throttle.policy.failures_per_email - 1):  # one failure above already
        assert log_in(visitor, email, "still not the password").status_code == 200
    refused = log_in(visitor, email, PASSWORD)  # the right password, too late: not even checked
    assert refused.status_code == 429
    assert "Trop de tentatives échouées. Réessayez dans 15 minutes." in refused.text
    assert "tc_session" not in set_cookies(refused)
    assert log_in(visitor, portal_world.emails["underwriter"], PASSWORD).status_code == 303  # others log in
    visitor.cookies.clear()
    assert isinstance(container.clock, FixedClock)
    container.clock.advance(timedelta(minutes=15))
    assert log_in(visitor, email, PASSWORD).status_code == 303


def test_a_login_post_without_the_csrf_token_is_refused(visitor: TestClient, portal_world: World) -> None:
    email = portal_world.emails["insured_user"]
    visitor.get("/login")
    missing = visitor.post("/login", data={"email": email, "password": PASSWORD})
    assert missing.status_code == 403
    assert "Ce formulaire a expiré" in missing.text
    forged = visitor.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert "tc_session" not in set_cookies(forged)


def test_a_token_is_worth_nothing_without_its_cookie(container: Container, portal_world: World) -> None:
    """Another site can make the visitor post, but cannot give it a token matching the visitor's cookie."""
    app = create_app(container=container)
    with TestClient(app, follow_redirects=False) as attacker, TestClient(app, follow_redirects=False) as victim:
        stolen = csrf_token(attacker.get("/login").text)
        victim.get("/login")
        data = {"email": portal_world.emails["insured_user"], "password": PASSWORD, "csrf_token": stolen}
        assert victim.post("/login", data=data).status_code == 403


def test_logging_out_needs_the_token_and_ends_the_session_for_good(
    visitor: TestClient, portal_world: World, container: Container
) -> None:
    html = logged_in_home(visitor, portal_world.emails["insured_user"])
    copied = visitor.cookies.get("tc_session")
    assert copied
    assert '<form method="post" action="/logout" id="logout-form">' in html
    assert '<button type="submit" id="logout">' in html
    assert visitor.post("/logout", data={}).status_code == 403
    assert visitor.get("/home").status_code == 200  # still logged in
    response = visitor.post("/logout", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "max-age=0" in set_cookies(response)["tc_session"].lower()
    assert visitor.get("/home").status_code == 303
    visitor.cookies.set("tc_session", copied)  # a copy of the cookie, kept from before the logout
    assert visitor.get("/home").status_code == 303, "the session ended with the logout: its copies are worth nothing"
    with container.uow() as uow:
        events, _ = uow.audit.list_page(tenants=frozenset({portal_world.insured_a}), page=Page(limit=1000))
    logins = [e.action for e in sorted(events, key=lambda e: e.sequence) if e.action.startswith("portal.")]
    assert logins == ["portal.logged_in", "portal.logged_out"]


def test_the_login_form_token_does_not_serve_a_session(visitor: TestClient, portal_world: World) -> None:
    """Tokens are bound to what they act for: the anonymous login form's token cannot log a session out."""
    login_token = csrf_token(visitor.get("/login").text)
    visitor.post("/login", data={"email": portal_world.emails["insured_user"], "password": PASSWORD,
                                 "csrf_token": login_token})  # fmt: skip
    assert visitor.post("/logout", data={"csrf_token": login_token}).status_code == 403


def test_a_forged_or_expired_session_cookie_is_nobody(
    visitor: TestClient, container: Container, portal_world: World
) -> None:
    visitor.cookies.set("tc_session", "not-a-token")
    response = visitor.get("/home")
    assert response.status_code == 303
    assert "tc_session" in set_cookies(response)  # cleared
    visitor.cookies.clear()
    assert log_in(visitor, portal_world.emails["insured_user"]).status_code == 303
    assert visitor.get("/home").status_code == 200
    clock = container.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(hours=SESSION_HOURS, seconds=1))
    assert visitor.get("/home").headers["location"] == "/login"


def test_the_session_cookie_does_not_authenticate_the_api(visitor: TestClient, portal_world: World) -> None:
    assert log_in(visitor, portal_world.emails["admin"]).status_code == 303
    assert visitor.get("/home").status_code == 200
    assert visitor.get("/api/v1/me").status_code == 401
    assert visitor.get("/api/v1/policies").status_code == 401
    session = visitor.cookies.get("tc_session")
    assert session
    as_bearer = visitor.get("/api/v1/me", headers={"Authorization": f"Bearer {session}"})
    assert as_bearer.status_code == 401


# --- Languages --------------------------------------------------------------------------------------------


def test_the_language_switch_changes_the_texts_and_the_formats(visitor: TestClient, portal_world: World) -> None:
    french = logged_in_home(visitor, portal_world.emails["insured_user"])
    assert '<html lang="fr">' in french
    assert "Encours total" in french
    assert FR_AMOUNT in french
    english = visitor.get("/home?lang=en")
    assert "tc_lang=en" in english.headers["set-cookie"]
    assert '<html lang="en">' in english.text
    assert "Total outstanding" in english.text
    assert EN_AMOUNT in english.text
    assert "Encours total" not in english.text
    assert '<html lang="en">' in visitor.get("/home").text  # remembered
    assert '<html lang="fr">' in visitor.get("/home?lang=fr").text
    assert '<html lang="fr">' in visitor.get("/home?lang=de").text  # unknown: the remembered one stays


def test_the_login_page_in_english(visitor: TestClient) -> None:
    html = visitor.get("/login?lang=en").text
    assert '<html lang="en">' in html
    assert "Password" in html
    assert "Log in" in html
    assert "Mot de passe" not in html


# --- Home pages -------------------------------------------------------------------------------------------


def test_an_insured_sees_its_own_buyers_only(visitor: TestClient, portal_world: World) -> None:
    html = logged_in_home(visitor, portal_world.emails["insured_user"])
    assert '<h1 id="page-title">' in html
    assert '<section id="insured-dashboard">' in html
    assert "Buyer of A" in html
    assert "Buyer of B" not in html
    assert 'id="total-outstanding">' + FR_AMOUNT in html
    assert 'id="total-covered">' in html
    assert 'id="total-uncovered">' in html
    assert 'id="utilisation-chart"' in html
    assert "<svg" in html
    assert 'class="table-wrap"' in html
    assert "world alert of a" in html
    assert "world alert of b" not in html
    assert 'id="user-name">insured_user<' in html
    assert 'id="user-role">Assuré<' in html


def test_the_other_insured_sees_its_own_buyers_only(visitor: TestClient, portal_world: World) -> None:
    html = logged_in_home(visitor, portal_world.emails["insured_user_b"])
    assert "Buyer of B" in html
    assert "Buyer of A" not in html
    assert "world alert of b" in html
    assert "world alert of a" not in html


def test_an_insured_cannot_open_another_insureds_exposure(visitor: TestClient, portal_world: World) -> None:
    logged_in_home(visitor, portal_world.emails["insured_user"])
    own = visitor.get(f"/exposure?policy={portal_world.policy_a}")
    assert own.status_code == 200
    assert "Buyer of A" in own.text
    other = visitor.get(f"/exposure?policy={portal_world.policy_b}")
    assert other.status_code == 404
    assert "Buyer of B" not in other.text
    assert visitor.get("/exposure?policy=nonexistent").status_code == 404


def test_a_broker_sees_its_mandated_insureds_only(visitor: TestClient, portal_world: World) -> None:
    html = logged_in_home(visitor, portal_world.emails["broker_user"])
    assert '<section id="broker-dashboard">' in html
    table = html[html.index("<tbody>") : html.index("</tbody>")]
    assert table.count("<tr ") == 1
    assert "Insured A SAS" in table
    assert "Insured B SARL" not in html
    assert FR_AMOUNT in table
    assert visitor.get(f"/exposure?policy={portal_world.policy_a}").status_code == 200
    assert visitor.get(f"/exposure?policy={portal_world.policy_b}").status_code == 404


def test_an_underwriter_sees_the_referral_queue(visitor: TestClient, portal_world: World) -> None:
    html = logged_in_home(visitor, portal_world.emails["underwriter"])
    assert '<section id="staff-dashboard">' in html
    assert 'id="referrals-count"' in html
    assert 'id="claims-count"' in html
    assert 'id="accumulation-link"' in html
    assert 'id="accumulation-summary"' not in html


def test_a_risk_manager_sees_the_accumulation_summary(visitor: TestClient, portal_world: World) -> None:
    html = logged_in_home(visitor, portal_world.emails["risk_manager"])
    assert '<section id="staff-dashboard">' in html
    assert 'id="accumulation-summary"' in html
    assert "Buyer of A" in html
    assert "Buyer of B" in html
    assert 'id="referrals-count"' not in html  # risk managers do not decide referrals
    page = visitor.get("/accumulation?by=buyer").text
    chart = re.search(r'<figure class="chart" id="accumulation-chart-1">(.*?)</figure>', page, re.S)
    assert chart, "the shares of the book are drawn"
    assert "Buyer of A" in chart.group(1)
    assert 'class="bar-limit" x="0" y="0" width="100.00"' in chart.group(1)  # the largest share spans the chart


def test_a_factor_has_a_home_page_too(visitor: TestClient, portal_world: World) -> None:
    html = logged_in_home(visitor, portal_world.emails["factor_user"])
    assert '<h1 id="page-title">' in html
    assert "Buyer of A" not in html
    assert "Buyer of B" not in html


def test_every_logged_in_page_has_the_frame(visitor: TestClient, portal_world: World) -> None:
    for name in ("insured_user", "broker_user", "admin", "claims_handler", "collector"):
        visitor.cookies.clear()
        html = logged_in_home(visitor, portal_world.emails[name])
        for part in ('<a class="skip-link" href="#main">', "<nav", '<main id="main">', 'id="logout-form"',
                     'id="lang-en"', 'id="lang-fr"'):  # fmt: skip
            assert part in html, (name, part)
        assert visitor.get("/home").headers["cache-control"] == "no-store"


# --- The lists behind the dashboards' links ----------------------------------------------------------------


def test_the_staff_links_open_their_pages(visitor: TestClient, portal_world: World) -> None:
    html = logged_in_home(visitor, portal_world.emails["admin"])
    for link, title in (("/referrals", "Demandes à arbitrer"), ("/claims", "Sinistres"), ("/accumulation", "Cumuls")):
        assert f'href="{link}"' in html
        page = visitor.get(link)
        assert page.status_code == 200, link
        assert f'<h1 id="page-title">{title}' in page.text
    book = visitor.get("/accumulation?by=country&lang=en").text
    assert '<option value="country" selected>Country</option>' in book
    assert '<th scope="row">France</th>' in book
    assert '<th scope="row">Buyer of A</th>' in visitor.get("/accumulation?by=nonsense").text  # per buyer


def test_an_insured_is_refused_the_staff_pages(visitor: TestClient, portal_world: World) -> None:
    html = logged_in_home(visitor, portal_world.emails["insured_user"])
    assert 'href="/referrals"' not in html
    assert 'href="/accumulation"' not in html
    for link in ("/referrals", "/accumulation"):
        refused = visitor.get(link)
        assert refused.status_code == 403, link
        assert "Accès refusé" in refused.text
        assert "Buyer of B" not in refused.text


def test_the_claims_list_keeps_to_the_tenant(container: Container, portal_world: World) -> None:
    add_claims(container, portal_world)
    own, other = claims_of(portal_world, "a"), claims_of(portal_world, "b")
    with TestClient(create_app(container=container), follow_redirects=False) as client:
        assert log_in(client, portal_world.emails["insured_user"]).status_code == 303
        listed = client.get("/claims").text
        with container.uow() as uow:
            own_claim, other_claim = uow.claims.get_claim(own.claim_id), uow.claims.get_claim(other.claim_id)
        assert own_claim is not None
        assert other_claim is not None
        assert own_claim.reference in listed
        assert other_claim.reference not in listed
        assert "Buyer of B" not in listed
        pending = client.get("/claims?status=pending").text
        assert '<option value="pending" selected>' in pending
        assert own_claim.reference in pending
        assert client.get("/claims?status=settled").text.count("<tr>") <= listed.count("<tr>")
        # a recovery after the settlement: its statement is linked from the claim's history
        recovery = f"/claims/{own.settled_claim_id}/recoveries/{own.recovery_id}/statement.pdf"
        assert f'href="{recovery}"' in client.get(f"/claims/{own.settled_claim_id}").text
        statement = client.get(recovery)
        assert statement.status_code == 200
        assert statement.content.startswith(b"%PDF")
        assert (
            client.get(f"/claims/{other.settled_claim_id}/recoveries/{other.recovery_id}/statement.pdf").status_code
            == 404
        )

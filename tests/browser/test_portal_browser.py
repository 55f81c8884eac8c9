"""The portal in Chromium: language, logging in and out as each demo role, keyboard access, rendering.

Screenshots of each page checked land in ``test-artifacts/screenshots/`` (see ``browser_support``).
"""

from __future__ import annotations

import re

import pytest
from browser_support import check_page, login
from playwright.sync_api import BrowserContext, Page, expect

from tradecover.services.demo_book import DEMO_DOMAIN, DEMO_PASSWORD

pytestmark = pytest.mark.browser

# Demo role → (the demo user's e-mail, the dashboard section its home page shows).
ROLES = {
    "insured": (f"metallerie@{DEMO_DOMAIN}", "insured-dashboard"),
    "broker": (f"broker@{DEMO_DOMAIN}", "broker-dashboard"),
    "underwriter": (f"underwriter@{DEMO_DOMAIN}", "staff-dashboard"),
    "risk_manager": (f"risk@{DEMO_DOMAIN}", "staff-dashboard"),
    "claims_handler": (f"claims@{DEMO_DOMAIN}", "staff-dashboard"),
    "admin": (f"admin@{DEMO_DOMAIN}", "staff-dashboard"),
}
DASHBOARDS = {"insured-dashboard", "broker-dashboard", "staff-dashboard"}


def path_is(path: str) -> re.Pattern[str]:
    """Matches a page URL whose path is ``path`` (any query string)."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(?:\?.*)?$")


def test_root_redirects_to_login_when_logged_out(page: Page) -> None:
    response = page.request.get("/", max_redirects=0)
    assert response.status == 303
    assert response.headers["location"].split("?")[0].endswith("/login")
    page.goto("/")
    expect(page).to_have_url(path_is("/login"))


def test_login_page_is_french_by_default_and_switches_to_english(page: Page, context: BrowserContext) -> None:
    response = page.goto("/login")
    assert response is not None
    assert response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    form = page.locator("form#login-form")
    expect(form.locator("input[name=email]#email")).to_be_visible()
    expect(form.locator("input[name=password]#password")).to_have_attribute("type", "password")
    expect(form.locator("input[type=hidden][name=csrf_token]")).to_have_count(1)
    assert form.locator("input[name=csrf_token]").get_attribute("value")
    expect(form.locator("button#login-submit")).to_be_visible()
    french_title = page.title()

    page.click("#lang-en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.title() != french_title
    assert {c["name"]: c["value"] for c in context.cookies()}.get("tc_lang") == "en"
    page.goto("/login")  # the choice sticks
    expect(page.locator("html")).to_have_attribute("lang", "en")
    check_page(page, "login-en")

    page.click("#lang-fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert page.title() == french_title


def test_login_page_renders(page: Page) -> None:
    page.goto("/login")
    check_page(page, "login-fr")


def test_wrong_password_shows_the_alert(page: Page) -> None:
    login(page, ROLES["insured"][0], "not-the-password")
    expect(page).to_have_url(path_is("/login"))
    alert = page.locator("p#login-error[role=alert]")
    expect(alert).to_be_visible()
    expect(alert).not_to_be_empty()
    for dashboard in DASHBOARDS:
        expect(page.locator(f"section#{dashboard}")).to_have_count(0)
    check_page(page, "login-error-fr")


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_lands_on_its_dashboard(page: Page, role: str) -> None:
    email, dashboard = ROLES[role]
    login(page, email, DEMO_PASSWORD)
    expect(page).to_have_url(path_is("/home"))
    expect(page.locator("h1#page-title")).to_be_visible()
    expect(page.locator(f"section#{dashboard}")).to_be_visible()
    for other in DASHBOARDS - {dashboard}:
        expect(page.locator(f"section#{other}")).to_have_count(0)
    expect(page.locator("nav").first).to_be_visible()
    expect(page.locator("main#main")).to_have_count(1)
    expect(page.locator("form#logout-form button#logout")).to_be_visible()
    check_page(page, f"home-{role}-fr")


def test_home_in_english(page: Page) -> None:
    login(page, ROLES["broker"][0], DEMO_PASSWORD)
    page.click("#lang-en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(path_is("/home"))
    expect(page.locator("section#broker-dashboard")).to_be_visible()
    check_page(page, "home-broker-en")


def test_logout_returns_to_login(page: Page) -> None:
    login(page, ROLES["underwriter"][0], DEMO_PASSWORD)
    expect(page).to_have_url(path_is("/home"))
    with page.expect_navigation():
        page.click("#logout")
    expect(page).to_have_url(path_is("/login"))
    expect(page.locator("form#login-form")).to_be_visible()
    page.goto("/home")  # the session is gone
    expect(page).to_have_url(path_is("/login"))


def test_keyboard_reaches_the_skip_link_then_the_email_field(page: Page) -> None:
    page.goto("/login")
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("href", re.compile(r"#main$"))
    expect(focused).to_be_visible()  # a skip link may hide until focused, but then it shows
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "email":
            break
    else:
        pytest.fail("the email field is not reached with Tab from the start of the login page")
    page.keyboard.type(ROLES["admin"][0])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("section#staff-dashboard")).to_be_visible()


@pytest.mark.parametrize(
    ("html", "problem"),
    [
        ('<div style="width: 2000px">large</div>', "horizontal overflow at 1280 px"),
        ("<p>Bonjour {{ user.name }}</p>", "shows '{{'"),
        ("<p>Traceback (most recent call last):</p>", "shows 'Traceback'"),
        ('<p data-untranslated="1">Claims</p>', "untranslated text(s) marked data-untranslated"),
        ("<p>home.page_title</p>", "message ids shown instead of text"),
        ('<button type="submit">Log out</button>', "English text on the French page"),
    ],
)
def test_check_page_catches_broken_pages(page: Page, html: str, problem: str) -> None:
    """The rendering checks themselves, on pages made for the purpose."""
    page.set_content(f'<!doctype html><html lang="fr"><body><main id="main">{html}</main></body></html>')
    with pytest.raises(AssertionError, match=re.escape(problem)):
        check_page(page, "self-check")

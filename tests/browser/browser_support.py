"""Helpers for the browser tests: logging in, and checking how a page renders.

``check_page`` screenshots a page at a desktop and a phone width into ``test-artifacts/screenshots/``
and fails on what a reader would see as broken: horizontal scrolling, template errors, untranslated
text, assets or scripts that failed, fields or buttons without an accessible name.
"""

from __future__ import annotations

import re
import weakref
from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Request, Response

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
WIDTHS = (1280, 390)
HEIGHT = 800

# What a broken template or a crashed request shows instead of the page.
ERROR_MARKERS = (
    "Traceback",
    "Internal Server Error",
    "{{",
    "}}",
    "{%",
    "%}",
    "jinja2",
    "UndefinedError",
    "TemplateSyntaxError",
    "TemplateNotFound",
    " is undefined",
)
# English labels of the portal's common chrome: none of them may show, whole, on a French page (nor may any
# message id of the French catalogue whose translation differs, see ``english_message_ids``).
ENGLISH_UI = frozenset(
    text.casefold()
    for text in (
        "Log in",
        "Log out",
        "Sign in",
        "Sign out",
        "Password",
        "Email address",
        "Home",
        "Dashboard",
        "Language",
        "Skip to content",
        "Skip to main content",
        "Wrong email or password",
        "Invalid email or password",
        "Policies",
        "Buyers",
        "Credit limits",
        "Claims",
        "Settings",
        "Submit",
        "Welcome",
    )
)
# A message id shown raw, as ``login.title`` or ``nav.credit_limits``, where a translation was missing.
MESSAGE_KEY = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*(?:\.[a-z][a-z0-9]*(?:_[a-z0-9]+)*)+")
NOT_KEYS = re.compile(r"\.(?:fr|com|org|net|eu|io|html|css|js|png|svg|pdf|csv|xml|json)$")

_VISIBLE_TEXTS = """() => {
  const texts = [];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
      && getComputedStyle(el).visibility !== 'hidden';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || ['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE'].includes(parent.tagName)) continue;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (text && visible(parent)) texts.push(text);
  }
  for (const el of document.querySelectorAll('[placeholder], [aria-label], [title], img[alt], input[value]')) {
    if (el.type === 'hidden') continue;
    for (const name of ['placeholder', 'aria-label', 'title', 'alt']) {
      const value = (el.getAttribute(name) || '').trim();
      if (value) texts.push(value);
    }
    if (['submit', 'button'].includes(el.type) && el.value) texts.push(el.value.trim());
  }
  if (document.title) texts.push(document.title.trim());
  return texts;
}"""

_OVERFLOW = """() => {
  const width = window.innerWidth;
  const scrollWidth = document.documentElement.scrollWidth;
  const wide = [];
  if (scrollWidth > width) {
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      if (box.width > 0 && box.right > width + 1) {
        const id = el.id ? '#' + el.id : '';
        const classes = el.classList.length ? '.' + [...el.classList].join('.') : '';
        wide.push(`${el.tagName.toLowerCase()}${id}${classes} (right edge ${Math.round(box.right)} px)`);
        if (wide.length >= 8) break;
      }
    }
  }
  return {scrollWidth, width, wide};
}"""

# What a screen reader or a keyboard user would miss: a field without a name, an image without a text, a
# button without a name, a page without its one main heading, an id given twice (labels point at ids).
_ACCESSIBILITY = """() => {
  const problems = [];
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? `[name=${el.name}]` : '');
  const named = (el) => {
    if ((el.getAttribute('aria-label') || '').trim()) return true;
    const by = el.getAttribute('aria-labelledby');
    if (by && by.split(/\\s+/).some((id) => (document.getElementById(id)?.textContent || '').trim())) return true;
    if (el.labels && [...el.labels].some((label) => label.textContent.trim())) return true;
    return !!(el.title || '').trim();
  };
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type)) continue;
    if (!named(el)) problems.push(`field without a label: ${describe(el)}`);
  }
  for (const el of document.querySelectorAll('button, input[type=submit], input[type=button]')) {
    const text = (el.textContent || el.value || el.getAttribute('aria-label') || '').trim();
    if (!text) problems.push(`button without a name: ${describe(el)}`);
  }
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push(`image without alt text: ${img.getAttribute('src')}`);
  }
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(`${h1} main headings (h1): one expected`);
  const seen = new Set();
  for (const el of document.querySelectorAll('[id]')) {
    if (seen.has(el.id)) problems.push(`id used twice: ${el.id}`);
    seen.add(el.id);
  }
  return problems.slice(0, 10);
}"""

_STATIC_KINDS = frozenset({"stylesheet", "script", "image", "font"})
_problems: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


def watch(page: Page) -> None:
    """Record script errors and failed assets of ``page`` from now on; ``check_page`` reports them."""
    problems = _problems.setdefault(page, [])

    def on_response(response: Response) -> None:
        if response.status >= 400 and response.request.resource_type in _STATIC_KINDS:
            problems.append(f"{response.request.resource_type} {response.url} answered {response.status}")

    def on_request_failed(request: Request) -> None:
        if request.resource_type in _STATIC_KINDS:
            problems.append(f"{request.resource_type} {request.url} failed: {request.failure}")

    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)


def login(page: Page, email: str, password: str) -> None:
    """Log in through the form of ``/login``; waits for the page that follows the submission."""
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("#login-submit")


def check_page(page: Page, name: str) -> None:
    """Screenshot the current page at each width and fail on anything that renders badly."""
    page.wait_for_load_state("load")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
    problems: list[str] = []
    original = page.viewport_size
    try:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            page.screenshot(path=str(SCREENSHOTS / f"{slug}-{width}.png"), full_page=True)
            overflow: dict[str, Any] = page.evaluate(_OVERFLOW)
            if overflow["scrollWidth"] > overflow["width"]:
                problems.append(
                    f"horizontal overflow at {width} px: the page is {overflow['scrollWidth']} px wide; "
                    f"wider elements: {', '.join(overflow['wide']) or 'none found'}"
                )
    finally:
        if original is not None:
            page.set_viewport_size(original)
    problems.extend(rendering_problems(page))
    problems.extend(_problems.get(page, []))
    assert not problems, f"{name} ({page.url}) renders badly:\n  " + "\n  ".join(problems)


def rendering_problems(page: Page) -> list[str]:
    """Template errors, untranslated text and what assistive technology would miss on the current page."""
    problems: list[str] = []
    text = page.locator("body").inner_text()
    problems.extend(f"shows {marker!r}" for marker in ERROR_MARKERS if marker in text)
    lang = page.locator("html").get_attribute("lang")
    if lang not in {"fr", "en"}:
        problems.append(f'<html lang="{lang}">: expected "fr" or "en"')
    untranslated = page.locator("[data-untranslated]")
    if count := untranslated.count():
        shown = ", ".join(repr(untranslated.nth(i).inner_text()) for i in range(min(count, 5)))
        problems.append(f"{count} untranslated text(s) marked data-untranslated: {shown}")
    problems.extend(page.evaluate(_ACCESSIBILITY))
    texts: list[str] = page.evaluate(_VISIBLE_TEXTS)
    keys = sorted({t for t in texts if MESSAGE_KEY.fullmatch(t) and not NOT_KEYS.search(t)})
    if keys:
        problems.append(f"message ids shown instead of text: {keys}")
    if lang == "fr":
        english_ids = ENGLISH_UI | english_message_ids()
        english = sorted({t for t in texts if t.casefold() in english_ids})
        if english:
            problems.append(f"English text on the French page: {english}")
    return problems


@cache
def english_message_ids() -> frozenset[str]:
    """The portal's English message ids (casefolded) that are no French text of its catalogue, from its ``.po``.

    Ids with placeholders are left out: the text shown then is never the id itself.
    """
    from tradecover.web.i18n import read_catalogue

    catalog = read_catalogue("fr")
    ids: set[str] = set()
    french: set[str] = set()
    for message in catalog:
        if not message.id or not isinstance(message.id, str) or not isinstance(message.string, str):
            continue
        if "%(" in message.id or "{" in message.id or not message.string.strip():
            continue
        ids.add(" ".join(message.id.split()).casefold())
        french.add(" ".join(message.string.split()).casefold())
    return frozenset(ids - french)  # an id that is also some French text (Date, Total…) proves nothing

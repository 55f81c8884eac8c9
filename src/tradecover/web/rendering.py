"""Templates and responses: one Jinja2 environment per language, built on first use, and the headers every
page carries (no caching of personal pages, no framing, a strict content security policy)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tradecover.web.charts import bar_rows, share_rows
from tradecover.web.i18n import Formats, translations
from tradecover.web.problems import problem_for

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# No inline script or style anywhere: the charts are SVG attributes, the layout is in /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def environment(language: str) -> Environment:
    """The templates in ``language``: messages, and filters formatting in its locale."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"], default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    # Added to the environment by the i18n extension; jinja2's stubs do not declare it.
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    formats = Formats(language)
    env.filters.update(
        money=formats.money,
        amount=formats.amount,
        country=formats.country,
        percent=formats.percent,
        number=formats.number,
        date=formats.date,
    )
    # {{ problem(error) }}: a service's refusal in the page's language; page_language for imported macros
    env.globals.update(bar_rows=bar_rows, share_rows=share_rows, problem=problem_for(language), page_language=language)
    return env


def render_html(language: str, template: str, context: Mapping[str, Any], status_code: int = 200) -> HTMLResponse:
    html = environment(language).get_template(template).render(context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def redirect(url: str) -> Response:
    """After a post or to the right page: 303, so that the browser follows with a GET."""
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)

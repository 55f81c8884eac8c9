"""The portal's languages: French by default, English on request; the message catalogue and the formats.

Templates carry English message ids (``{% trans %}`` and ``_()``); ``translations/fr/LC_MESSAGES/messages.po``
holds the French. The ``.po`` is read and compiled in memory when the portal first renders, so no build step
is needed. Amounts, rates and dates are formatted by Babel from the CLDR data of the user's locale.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import NullTranslations, Translations

from tradecover.domain.money import Money

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "fr"
LANGUAGES = ("fr", "en")
#: The CLDR locale each language formats with (English as written in Europe: 15 Mar 2026, €1,234.50).
FORMAT_LOCALES = {"fr": "fr_FR", "en": "en_GB"}
LANGUAGE_COOKIE = "tc_lang"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600


def choose_language(requested: str | None, remembered: str | None) -> str:
    """``?lang=`` first, then the cookie, then French; anything else is ignored."""
    for candidate in (requested, remembered):
        if candidate:
            code = candidate.strip().lower()
            if code in LANGUAGES:
                return code
    return DEFAULT_LANGUAGE


def catalogue_path(language: str) -> Path:
    return TRANSLATIONS_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalogue_paths(language: str) -> list[Path]:
    """``messages.po`` and one ``messages-<area>.po`` per part of the portal, so that parts grow apart."""
    return sorted((TRANSLATIONS_DIR / language / "LC_MESSAGES").glob(f"{DOMAIN}*.po"))


def read_catalogue(language: str) -> Catalog:
    """Every ``.po`` of the language merged into one catalogue (a message defined twice must agree)."""
    merged = Catalog(locale=language, domain=DOMAIN)
    for path in catalogue_paths(language):
        with path.open("rb") as source:
            part = read_po(source, locale=language, domain=DOMAIN, abort_invalid=True)
        if path.name == f"{DOMAIN}.po":
            # its header's Plural-Forms (2 in French), not the CLDR's (3, with one for millions)
            merged.mime_headers = part.mime_headers
        for message in part:
            if not message.id:
                continue
            known = merged.get(message.id, message.context)
            if known is not None and known.string != message.string:
                raise ValueError(f"{path.name}: {message.id!r} translated differently in another catalogue")
            merged[message.id] = message
    return merged


@cache
def translations(language: str) -> NullTranslations:
    """The language's messages, compiled from its ``.po`` files (English, the message ids, needs none)."""
    if language not in LANGUAGES or not catalogue_paths(language):
        return NullTranslations()
    catalog = read_catalogue(language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


class Formats:
    """Amounts, rates, numbers and dates as written in one locale."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.locale = Locale.parse(FORMAT_LOCALES[language])

    def money(self, value: Money | None) -> str:
        if value is None:
            return "—"
        return format_currency(value.amount, value.currency, locale=self.locale)

    def amount(self, value: Decimal | None, currency: str) -> str:
        """A bare amount in ``currency`` (as some reports carry them)."""
        if value is None:
            return "—"
        return format_currency(value, currency, locale=self.locale)

    def percent(self, rate: Decimal | None, places: int = 1) -> str:
        """A 0..1 rate as a percentage with exactly ``places`` decimals (``85,0 %`` / ``85.0%``)."""
        if rate is None:
            return "—"
        quantum = Decimal(1).scaleb(-(places + 2))
        pattern = self.locale.percent_formats[None].pattern
        if places > 0:
            pattern = pattern.replace("0", "0." + "0" * places, 1)
        return format_percent(rate.quantize(quantum, ROUND_HALF_UP), pattern, locale=self.locale)

    def country(self, code: str) -> str:
        """An ISO 3166 code's name in the locale (the code itself when unknown)."""
        return str(self.locale.territories.get(code.upper(), code))

    def number(self, value: int | Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def date(self, value: date | datetime | None, style: str = "medium") -> str:
        if value is None:
            return "—"
        day = value.date() if isinstance(value, datetime) else value
        return format_date(day, style, locale=self.locale)

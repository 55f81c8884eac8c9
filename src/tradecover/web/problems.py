"""The services' refusals in the user's language.

The services raise :class:`~tradecover.domain.errors.DomainError` with a stable ``code``, an English message
and sometimes a ``field`` and a ``context``. The API returns them as they are; the portal shows them in the
user's language with :func:`problem_text` (``{{ problem(error) }}`` in the templates):

- in English, the service's own message, which is the most precise;
- in French, the sentence of ``translations/fr/LC_MESSAGES/messages-problems.po`` for the code (``msgctxt
  "problem"``, ``msgid`` = the code), with the values it names taken from the error's context or field,
  formatted for the locale. A code without a sentence of its own falls back to its family's (codes built at
  run time), then to a sentence naming the refused field, then to its error class's — never to English.

The text returned is plain: the templates escape it, so a value the user typed cannot become markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tradecover.domain.errors import DomainError
from tradecover.domain.money import Money
from tradecover.web.i18n import LANGUAGES, Formats, translations

#: The gettext context of the sentences: their ids are codes, which must never meet a template's message.
PROBLEM_CONTEXT = "problem"
#: The language the services write their messages in: shown as they are.
SOURCE_LANGUAGE = "en"
#: The sentence for a code with no entry, when the error names its field.
FIELD_FALLBACK = "problem.field"
#: The last resort, should the catalogue lack even the class sentences (it does not; the tests see to it).
LAST_RESORT = {"fr": "La demande n'a pas pu aboutir."}
#: Codes built at run time (``f"collection.unknown_{field}"``…): a prefix and the entry of its family.
FAMILIES: tuple[tuple[str, str], ...] = (
    ("collection.unknown_", "collection.unknown_*"),
    ("identifier.invalid_", "identifier.invalid_*"),
)
#: ``authorization.not_found`` builds ``f"{what}.not_found"``; the class's own sentence fits any ``what``.
NOT_FOUND_SUFFIX = ".not_found"
#: Dates inside a sentence are written out (« le 1 avril 2026 », not « 1 avr. 2026 »).
SENTENCE_DATE_STYLE = "long"
#: A context value is the user's input at times: kept short, whatever was typed.
MAX_VALUE_CHARS = 80

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def problem_text(error: DomainError, language: str) -> str:
    """What to show the user for ``error``: see the module's docstring."""
    if language == SOURCE_LANGUAGE or language not in LANGUAGES:
        return error.message
    catalogue = translations(language)
    values = _values(error, Formats(language))
    for key in _candidates(error):
        sentence = str(catalogue.pgettext(PROBLEM_CONTEXT, key))
        if sentence == key:  # gettext answers the id itself when there is no translation
            continue
        try:
            return sentence % values
        except (KeyError, ValueError, TypeError):
            # this raise of the code lacks a value the sentence names: a less precise sentence, never a crash
            continue
    return LAST_RESORT.get(language, error.message)


def problem_for(language: str) -> Callable[[DomainError], str]:
    """:func:`problem_text` in one language: the ``problem`` global of that language's templates."""

    def problem(error: DomainError) -> str:
        return problem_text(error, language)

    return problem


def _candidates(error: DomainError) -> Iterator[str]:
    """The catalogue entries that may word ``error``, most precise first."""
    yield error.code
    for prefix, family in FAMILIES:
        if error.code.startswith(prefix):
            yield family
    if error.field:
        yield FIELD_FALLBACK
    if error.code.endswith(NOT_FOUND_SUFFIX):
        yield "not_found"
    # the codes of the error's classes, from InvalidInput's "input.invalid" up to DomainError's "domain.error"
    for klass in type(error).__mro__:
        code = vars(klass).get("code")
        if isinstance(code, str):
            yield code


def _values(error: DomainError, formats: Formats) -> dict[str, str]:
    """The error's context as the sentences may show it, and its field."""
    values: dict[str, str] = {}
    for name, value in error.context.items():
        shown = _shown(value, formats)
        if shown is not None:
            values[str(name)] = shown
    if error.field:
        values["field"] = _short(error.field)
    return values


def _shown(value: Any, formats: Formats) -> str | None:
    """One context value written for the locale; ``None`` for what a sentence cannot show (mappings…)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (date, datetime)):
        return formats.date(value, SENTENCE_DATE_STYLE)
    if isinstance(value, Money):
        return formats.money(value)
    if isinstance(value, (int, Decimal)):
        return formats.number(value)
    if isinstance(value, str):
        if _ISO_DATE.fullmatch(value):
            try:
                return formats.date(date.fromisoformat(value), SENTENCE_DATE_STYLE)
            except ValueError:
                return _short(value)
        return _short(value)
    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=str)
    if isinstance(value, (list, tuple)):
        items = (_shown(item, formats) for item in value)
        return _short(", ".join(item for item in items if item is not None))
    return None


def _short(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"

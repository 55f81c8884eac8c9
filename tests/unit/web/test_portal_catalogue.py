"""Every message the templates use has a French translation, with the same placeholders; nothing else."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

from tradecover.web.i18n import LANGUAGES, read_catalogue, translations
from tradecover.web.problems import PROBLEM_CONTEXT
from tradecover.web.rendering import TEMPLATES_DIR

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
MessageId = str | tuple[str, ...]


def template_messages() -> dict[MessageId, str]:
    """Each message id of the templates (a tuple for plurals) with where it is used first."""
    found: dict[MessageId, str] = {}
    for filename, line, message, _, _ in extract_from_dir(
        str(TEMPLATES_DIR),
        method_map=[("**.html", "jinja2.ext:babel_extract")],
        options_map={"**.html": {"trimmed": "true"}},
    ):
        found.setdefault(message, f"{filename}:{line}")
    return found


def french() -> Catalog:
    return read_catalogue("fr")


def test_the_templates_use_messages() -> None:
    assert len(template_messages()) > 100


def test_every_template_message_has_a_french_translation() -> None:
    catalog = french()
    missing = []
    for message, where in template_messages().items():
        entry = catalog.get(message if isinstance(message, str) else message[0])
        strings = () if entry is None else (entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if entry is None or entry.fuzzy or not strings or not all(s and s.strip() for s in strings):
            missing.append(f"{where}: {message!r}")
    assert not missing, "messages without a French translation:\n" + "\n".join(missing)


def test_translations_keep_the_placeholders() -> None:
    wrong = []
    for entry in french():
        if not entry.id or entry.context == PROBLEM_CONTEXT:  # codes, not templates' messages: test_problems.py
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = {name for text in ids for name in PLACEHOLDER.findall(text)}
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != expected:
                wrong.append(f"{entry.id!r} -> {text!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_the_catalogue_holds_no_message_the_templates_dropped() -> None:
    used = {m if isinstance(m, str) else m[0] for m in template_messages()}
    obsolete = [
        entry.id
        for entry in french()
        if entry.id
        and entry.context != PROBLEM_CONTEXT  # the services' codes: test_problems.py checks them
        and (entry.id if isinstance(entry.id, str) else entry.id[0]) not in used
    ]
    assert not obsolete, f"messages no template uses (remove them): {obsolete}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogues_load_without_a_build_step(language: str) -> None:
    loaded = translations(language)
    expected = "Se connecter" if language == "fr" else "Log in"
    assert loaded.gettext("Log in") == expected
    assert loaded.ngettext("%(shown)s claim", "%(shown)s claims", 2) == (
        "%(shown)s sinistres" if language == "fr" else "%(shown)s claims"
    )

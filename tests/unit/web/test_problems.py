"""The services' refusals in the portal's languages: every code has its French sentence, and the sentences
show the error's values, fall back without English, and load with the portal's catalogue."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tradecover.bootstrap import Container
from tradecover.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RuleBroken
from tradecover.domain.money import Money
from tradecover.domain.parties import OrganisationKind, Role
from tradecover.services import accounts, buyers, credit_limits, policies
from tradecover.services.authorization import system_actor
from tradecover.web.i18n import read_catalogue, translations
from tradecover.web.problems import FIELD_FALLBACK, PROBLEM_CONTEXT, problem_text
from tradecover.web.rendering import environment

SOURCE = Path(__file__).resolve().parents[3] / "src" / "tradecover"
#: Where the refusals the portal shows are raised.
SCANNED = ("services", "domain", "ingest")
#: ``grep -rhoE 'code=f?"[a-z_.{}]+"'``: the codes the raises name.
RAISED = re.compile(r'code=f?"([a-z_.{}]+)"')
#: The ingest helpers take their code as a plain argument (``file_problem(name, message, "fec.too_large")``).
INGEST_CODE = re.compile(r'"((?:ingest|einvoice|fec|ledger_csv)\.[a-z_]+)"')
#: ``decode_text(..., "fec.mapping")`` and ``refuse_binary(..., "fec")`` take a prefix of ``<prefix>.undecodable``.
CODE_PREFIX = re.compile(r'(?:decode_text|refuse_binary)\([^)]*"([a-z_.]+)"\)')
#: Every value the codes built at run time take: a new pattern fails the test until it is listed here.
DYNAMIC = {
    "collection.unknown_{field}": ["action_kind", "cost_kind", "outcome", "stage"],
    "identifier.invalid_{kind.value}": ["siren", "siret", "vat_fr", "vat", "lei", "duns"],
    "{what}.not_found": [
        "alert",
        "api_key",
        "buyer",
        "collection_case",
        "collection_letter",
        "limit_request",
        "mandate",
        "organisation",
        "policy",
        "quote",
    ],
}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def codes_in_source() -> set[str]:
    found: set[str] = set()
    for part in SCANNED:
        for path in sorted((SOURCE / part).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for code in RAISED.findall(text):
                if "{" not in code:
                    found.add(code)
                    continue
                assert code in DYNAMIC, f"{path.name}: list the values {code!r} takes in DYNAMIC"
                placeholder = re.compile(r"\{[^}]+\}")
                found.update(placeholder.sub(value, code) for value in DYNAMIC[code])
            if part == "ingest":
                found.update(INGEST_CODE.findall(text))
                found.update(f"{prefix}.undecodable" for prefix in CODE_PREFIX.findall(text))
    # the prefixes are not codes of their own
    return found - {"fec.mapping"}


def french_sentences() -> dict[str, str]:
    return {str(entry.id): str(entry.string) for entry in read_catalogue("fr") if entry.context == PROBLEM_CONTEXT}


def test_every_code_the_services_raise_has_a_french_sentence() -> None:
    codes = codes_in_source()
    assert len(codes) > 250, "the scan finds the codes"
    sentences = french_sentences()
    missing = sorted(code for code in codes if not sentences.get(code, "").strip())
    assert not missing, "codes without a French sentence in messages-problems.po:\n" + "\n".join(missing)
    for code, sentence in sentences.items():
        # a sentence is %-formatted: %(name)s or %% only, and it reads as French, not as its code
        assert sentence % dict.fromkeys(PLACEHOLDER.findall(sentence), "x"), code
        assert sentence != code, code
        assert not re.fullmatch(r"[a-z_.*]+", sentence), code


def test_the_catalogue_loads_with_the_problems() -> None:
    catalogue = read_catalogue("fr")
    four_eyes = catalogue.get("credit_limit.four_eyes", PROBLEM_CONTEXT)
    assert four_eyes is not None
    assert not four_eyes.fuzzy
    # the codes live in their own context: no template message is shadowed
    assert catalogue.get("credit_limit.four_eyes") is None
    assert translations("fr").pgettext(PROBLEM_CONTEXT, "credit_limit.four_eyes") == four_eyes.string
    assert translations("fr").gettext("Log in") == "Se connecter"


def test_french_sentences_for_real_refusals_of_the_services(container: Container) -> None:
    clock = container.clock
    refusals: list[DomainError] = []

    def refused(action: Callable[[], object]) -> None:
        with pytest.raises(DomainError) as raised:
            action()
        refusals.append(raised.value)

    with container.uow() as uow:
        insurer = accounts.ensure_insurer(uow, clock)
        admin = system_actor(insurer.id)
        insured = accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.POLICYHOLDER, name="Assuré SAS", country="FR"
        )
        broker = accounts.create_organisation(
            uow, clock, admin, kind=OrganisationKind.BROKER, name="Courtier SARL", country="FR"
        )
        policy, _ = policies.issue_policy(uow, clock, admin, policyholder_id=insured.id, start_date=date(2026, 1, 1))
        buyer, _ = buyers.add_buyer(
            uow,
            clock,
            admin,
            identifiers=[("siren", "552100554")],
            legal_name="Acheteur SA",
            country="FR",
            organisation_id=insured.id,
        )
        uow.commit()

        def limit(amount: str, **extra: object) -> object:
            return credit_limits.request_limit(
                uow, clock, admin, policy_id=policy.id, buyer_id=buyer.id, amount=amount, **extra
            )

        refused(lambda: limit("-5000"))
        refused(lambda: limit("5000.123"))
        refused(lambda: limit("5000", temporary_until=date(2026, 1, 31)))
        refused(lambda: credit_limits.request_limit(uow, clock, admin, policy_id="nope", buyer_id=buyer.id, amount="1"))
        refused(
            lambda: buyers.add_buyer(
                uow,
                clock,
                admin,
                identifiers=[("siren", "552100555")],
                legal_name="Mauvais SIREN",
                country="FR",
                organisation_id=insured.id,
            )
        )
        refused(
            lambda: policies.issue_policy(uow, clock, admin, policyholder_id=broker.id, start_date=date(2026, 1, 1))
        )
        refused(
            lambda: accounts.create_user(
                uow,
                clock,
                admin,
                organisation_id=insured.id,
                email="pas-une-adresse",
                full_name="X",
                role=Role.INSURED_USER,
                password="correct horse battery",
            )
        )
        refused(lambda: Money.of("12", "EURO"))

    codes = [error.code for error in refusals]
    assert codes[:3] == ["credit_limit.invalid_amount", "credit_limit.invalid_amount", "credit_limit.invalid_end_date"]
    assert "identifier.invalid_siren" in codes
    assert "money.unknown_currency" in codes
    for error in refusals:
        french, english = problem_text(error, "fr"), problem_text(error, "en")
        assert english == error.message
        assert french, error.code
        assert error.message not in french, error.code
        assert error.code not in french
    siren = refusals[codes.index("identifier.invalid_siren")]
    assert problem_text(siren, "fr") == "« 552100555 » n'est pas un numéro SIREN valide."
    assert problem_text(refusals[-1], "fr").startswith("La devise « EURO » est inconnue")


def test_context_values_are_shown_as_written_in_french() -> None:
    terminated = RuleBroken(
        "the policy terminates on 2026-06-30", code="policy.terminated", context={"termination_date": date(2026, 6, 30)}
    )
    assert problem_text(terminated, "fr").startswith("La police est résiliée à compter du 30 juin 2026 :")
    # dates the services pass as ISO text, amounts as Decimal
    expired = RuleBroken("quote Q-1 expired", code="quote.expired", context={"valid_until": "2026-04-01"})
    assert "le 1 avril 2026 :" in problem_text(expired, "fr")
    capacity = RuleBroken(
        "only 12500.50 remains", code="credit_limit.capacity_reached", context={"remaining": Decimal("12500.50")}
    )
    assert "(il reste 12\u202f500,5)" in problem_text(capacity, "fr")
    kinds = InvalidInput("unknown alert kinds: x", code="alerts.unknown_kind", context={"known": ["a", "b"]})
    assert problem_text(kinds, "fr") == "Type d'alerte inconnu. Types possibles : a, b."
    # a typed value is plain text: the templates escape it
    typed = InvalidInput("bad", code="identifier.invalid_siret", field="siret", context={"value": "<b>1</b>"})
    assert problem_text(typed, "fr") == "« <b>1</b> » n'est pas un numéro SIRET valide."
    page = environment("fr").from_string("<p>{{ problem(error) }}</p>").render(error=typed)
    assert "&lt;b&gt;1&lt;/b&gt;" in page
    assert "<b>" not in page
    assert environment("en").from_string("{{ problem(error) }}").render(error=typed) == "bad"
    long = InvalidInput("bad", code="identifier.invalid_siren", context={"value": "9" * 500})
    assert len(problem_text(long, "fr")) < 150


def test_codes_without_a_sentence_fall_back_to_french() -> None:
    assert FIELD_FALLBACK in french_sentences()
    new_with_field = InvalidInput("the widget is wrong", code="widget.wrong", field="widget")
    assert problem_text(new_with_field, "fr") == "La valeur du champ « widget » est refusée."
    assert problem_text(new_with_field, "en") == "the widget is wrong"
    # no field: the sentence of the error's class
    assert (
        problem_text(RuleBroken("no", code="widget.rule"), "fr")
        == "Les règles du contrat ne permettent pas cette opération."
    )
    assert problem_text(Forbidden("no", code="widget.forbidden"), "fr") == (
        "Votre rôle ne vous permet pas d'effectuer cette opération."
    )
    assert problem_text(Conflict("no", code="widget.conflict"), "fr").startswith("L'opération entre en conflit")
    assert (
        problem_text(NotFound("widget 1 not found", code="widget.not_found"), "fr")
        == "L'élément demandé est introuvable."
    )
    assert problem_text(DomainError("no", code="widget.error"), "fr") == "La demande n'a pas pu aboutir."
    # families built at run time
    identifier = InvalidInput("invalid", code="identifier.invalid_new_scheme", context={"value": "123"})
    assert problem_text(identifier, "fr") == "« 123 » n'est pas un identifiant d'entreprise valide."
    # a raise lacking a value its code's sentence names: a less precise sentence, not a crash nor English
    bare = RuleBroken("the policy is terminated", code="policy.terminated", field="effective_date")
    assert problem_text(bare, "fr") == "La valeur du champ « effective_date » est refusée."
    assert problem_text(RuleBroken("the policy is terminated", code="policy.terminated"), "fr") == (
        "Les règles du contrat ne permettent pas cette opération."
    )

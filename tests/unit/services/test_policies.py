"""Policies: issue with DOMAIN.md §3 defaults, endorse (new version), renew, tenancy."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from tradecover.domain.errors import Forbidden, InvalidInput, NotFound, RuleBroken
from tradecover.domain.money import Money
from tradecover.domain.parties import MandateScope, Organisation, OrganisationKind, Role
from tradecover.domain.periods import FixedClock, Period
from tradecover.domain.policies import Policy, PolicyStatus, TermsVersion
from tradecover.domain.terms import DeductibleKind, PremiumRates
from tradecover.services import policies
from tradecover.services.authorization import Actor
from tradecover.services.ports import Page

if TYPE_CHECKING:
    from fakes import FakeUnitOfWork

    from conftest import GrantMandate, MakeActor, MakeOrg

START = date(2026, 1, 1)


@pytest.fixture
def holder(make_org: MakeOrg) -> Organisation:
    return make_org(OrganisationKind.POLICYHOLDER, "Dupont SAS")


@pytest.fixture
def underwriter(insurer: Organisation, make_actor: MakeActor) -> Actor:
    return make_actor(insurer, Role.UNDERWRITER)


def issue(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    actor: Actor,
    holder: Organisation,
    terms: dict[str, Any] | None = None,
    start: date = START,
) -> tuple[Policy, TermsVersion]:
    with uow:
        return policies.issue_policy(uow, clock, actor, policyholder_id=holder.id, start_date=start, terms=terms)


def endorse(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    actor: Actor,
    policy: Policy,
    changes: dict[str, Any],
    effective: date = date(2026, 3, 1),
    reason: str = "agreed with the insured",
) -> TermsVersion:
    with uow:
        return policies.endorse_policy(
            uow, clock, actor, policy.id, effective_date=effective, changes=changes, reason=reason
        )


# -------------------------------------------------------------------- issue


def test_a_policy_is_issued_with_the_domain_defaults(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation
) -> None:
    policy, version = issue(uow, clock, underwriter, holder)

    assert policy.number == "TC-2026-000001"
    assert policy.policyholder_id == holder.id
    assert policy.currency == "EUR"
    assert policy.status is PolicyStatus.IN_FORCE
    assert policy.periods == [Period(date(2026, 1, 1), date(2027, 1, 1))]
    assert version.version == 1
    assert version.effective_date == START
    assert version.reason == "policy issued"
    assert version.created_by == underwriter.audit_label()

    terms = version.terms
    eur = "EUR"
    assert terms.indemnity_rate == Decimal("0.90")
    assert terms.deductible == Money.of(0, eur)
    assert terms.deductible_kind is DeductibleKind.PER_CLAIM
    assert terms.non_qualifying_loss == Money.of(1000, eur)
    assert terms.max_credit_period_days == 120
    assert terms.overdue_notification_days == 90
    assert terms.insolvency_notification_days == 30
    assert terms.waiting_period_days == 150
    assert terms.max_liability_multiple == Decimal(30)
    assert terms.max_liability_amount is None
    assert terms.discretionary_limit == Money.of(10_000, eur)
    assert terms.covered_countries == ("FR",)
    assert terms.premium_rates == PremiumRates(Decimal("0.0025"), Decimal("0.0040"))
    assert terms.minimum_premium == Money.of(0, eur)
    assert terms.request_fee == Money.of(0, eur)
    assert terms.monitoring_fee == Money.of(0, eur)
    assert terms.no_claims_bonus_rate == Decimal("0.20")
    assert terms.no_claims_bonus_threshold == Decimal("0.50")
    assert terms.reduction_notice_days == 0
    assert terms.max_extension_days == 60
    assert terms.renewal_notice_days == 90
    assert terms.currency == eur

    with uow:
        assert policies.get_policy(uow, underwriter, policy.id) == policy
        assert policies.terms_history(uow, underwriter, policy.id) == [version]


def test_a_policy_takes_the_policyholders_country_and_quoted_terms(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, make_org: MakeOrg
) -> None:
    belgian = make_org(OrganisationKind.POLICYHOLDER, "Bruxelles SA", country="BE")

    _, version = issue(
        uow,
        clock,
        underwriter,
        belgian,
        terms={
            "indemnity_rate": "0.85",
            "covered_countries": ["be", "fr", "DE"],
            "non_qualifying_loss": "2500",
            "max_credit_period_days": 90,
        },
    )

    assert version.terms.indemnity_rate == Decimal("0.85")
    assert version.terms.covered_countries == ("BE", "FR", "DE")
    assert version.terms.non_qualifying_loss == Money.of(2500, "EUR")
    assert version.terms.max_credit_period_days == 90


def test_policy_numbers_follow_each_other_within_a_year(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation
) -> None:
    first, _ = issue(uow, clock, underwriter, holder)
    second, _ = issue(uow, clock, underwriter, holder)
    next_year, _ = issue(uow, clock, underwriter, holder, start=date(2027, 1, 1))

    assert [first.number, second.number, next_year.number] == [
        "TC-2026-000001",
        "TC-2026-000002",
        "TC-2027-000001",
    ]


def test_an_indemnity_rate_above_the_maximum_is_refused(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation
) -> None:
    with pytest.raises(InvalidInput) as caught:
        issue(uow, clock, underwriter, holder, terms={"indemnity_rate": "0.97"})

    assert caught.value.field == "indemnity_rate"
    assert caught.value.code == "terms.out_of_range"
    with uow:
        assert policies.list_policies(uow, underwriter, Page()) == ([], 0)
        assert "policy.issued" not in {r.action for r in uow.audit.all_records()}


def test_an_insured_cannot_issue_a_policy(
    uow: FakeUnitOfWork, clock: FixedClock, holder: Organisation, make_actor: MakeActor
) -> None:
    with pytest.raises(Forbidden):
        issue(uow, clock, make_actor(holder), holder)

    with uow:
        assert uow.policies.list_page(policyholder_ids=None, page=Page()) == ([], 0)


def test_policies_are_issued_to_policyholders_only(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, make_org: MakeOrg
) -> None:
    broker = make_org(OrganisationKind.BROKER, "Courtage Durand")

    with pytest.raises(InvalidInput) as caught:
        issue(uow, clock, underwriter, broker)

    assert caught.value.code == "policy.not_a_policyholder"


def test_issuing_needs_a_reason(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation
) -> None:
    with uow, pytest.raises(InvalidInput) as caught:
        policies.issue_policy(uow, clock, underwriter, policyholder_id=holder.id, start_date=START, reason="   ")

    assert caught.value.code == "policy.reason_required"
    with uow:
        assert uow.policies.list_page(policyholder_ids=None, page=Page()) == ([], 0)


# ------------------------------------------------------------------ tenancy


def test_an_insured_reading_another_insureds_policy_gets_not_found(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    underwriter: Actor,
    holder: Organisation,
    make_org: MakeOrg,
    make_actor: MakeActor,
) -> None:
    policy, _ = issue(uow, clock, underwriter, holder)
    stranger = make_actor(make_org(OrganisationKind.POLICYHOLDER, "Stranger SAS"))

    with uow:
        with pytest.raises(NotFound) as hidden:
            policies.get_policy(uow, stranger, policy.id)
        with pytest.raises(NotFound) as missing:
            policies.get_policy(uow, stranger, "random-id")
        listed = policies.list_policies(uow, stranger, Page())

    # Indistinguishable from an id that does not exist.
    assert type(hidden.value) is type(missing.value)
    assert hidden.value.code == missing.value.code == "policy.not_found"
    assert hidden.value.message.replace(policy.id, "<id>") == missing.value.message.replace("random-id", "<id>")
    assert hidden.value.context.keys() == missing.value.context.keys()
    assert listed == ([], 0)


def test_an_insured_reads_its_own_policy_and_terms(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    underwriter: Actor,
    holder: Organisation,
    make_actor: MakeActor,
) -> None:
    policy, version = issue(uow, clock, underwriter, holder)
    insured = make_actor(holder)

    with uow:
        assert policies.get_policy(uow, insured, policy.id) == policy
        assert policies.current_terms(uow, insured, policy.id, date(2026, 6, 1)) == version
        assert policies.list_policies(uow, insured, Page()) == ([policy], 1)


def test_an_insured_cannot_endorse_or_renew_its_own_policy(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    underwriter: Actor,
    holder: Organisation,
    make_actor: MakeActor,
) -> None:
    policy, _ = issue(uow, clock, underwriter, holder)
    insured = make_actor(holder)

    with pytest.raises(Forbidden):
        endorse(uow, clock, insured, policy, {"indemnity_rate": "0.80"})
    with uow, pytest.raises(Forbidden):
        policies.renew_policy(uow, clock, insured, policy.id, reason="please")

    with uow:
        assert len(uow.policies.terms_versions(policy.id)) == 1
        assert uow.policies.get(policy.id) == policy


def test_a_broker_reads_the_policies_of_its_mandators(
    grant_mandate: GrantMandate,
    uow: FakeUnitOfWork,
    clock: FixedClock,
    admin: Actor,
    underwriter: Actor,
    holder: Organisation,
    make_org: MakeOrg,
    make_actor: MakeActor,
) -> None:
    policy, _ = issue(uow, clock, underwriter, holder)
    other_policy, _ = issue(uow, clock, underwriter, make_org(OrganisationKind.POLICYHOLDER, "Other SAS"))
    broker = make_org(OrganisationKind.BROKER, "Courtage Durand")
    grant_mandate(broker, holder, MandateScope.READ)
    broker_user = make_actor(broker)

    with uow:
        assert policies.get_policy(uow, broker_user, policy.id) == policy
        assert policies.list_policies(uow, broker_user, Page()) == ([policy], 1)
        with pytest.raises(NotFound):
            policies.get_policy(uow, broker_user, other_policy.id)


# -------------------------------------------------------------- endorsement


def test_an_endorsement_creates_version_two_and_keeps_version_one(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation
) -> None:
    policy, v1 = issue(uow, clock, underwriter, holder)

    v2 = endorse(uow, clock, underwriter, policy, {"indemnity_rate": "0.80", "waiting_period_days": 180})

    assert v2.version == 2
    assert v2.effective_date == date(2026, 3, 1)
    assert v2.reason == "agreed with the insured"
    assert v2.terms.indemnity_rate == Decimal("0.80")
    assert v2.terms.waiting_period_days == 180
    assert v2.terms.non_qualifying_loss == v1.terms.non_qualifying_loss  # untouched terms carry over
    with uow:
        history = policies.terms_history(uow, underwriter, policy.id)
        before = policies.current_terms(uow, underwriter, policy.id, date(2026, 2, 28))
        after = policies.current_terms(uow, underwriter, policy.id, date(2026, 3, 1))
    assert history == [v1, v2]
    assert history[0].terms.indemnity_rate == Decimal("0.90")
    assert history[0].terms.waiting_period_days == 150
    assert (before.version, after.version) == (1, 2)


def test_endorsements_stack_up(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation
) -> None:
    policy, _ = issue(uow, clock, underwriter, holder)
    endorse(uow, clock, underwriter, policy, {"indemnity_rate": "0.80"}, effective=date(2026, 3, 1))

    v3 = endorse(uow, clock, underwriter, policy, {"max_extension_days": 30}, effective=date(2026, 5, 1))

    assert v3.version == 3
    assert v3.terms.indemnity_rate == Decimal("0.80")
    assert v3.terms.max_extension_days == 30


@pytest.mark.parametrize(
    "effective",
    [date(2025, 12, 31), date(2027, 1, 1), date(2027, 6, 1)],
)
def test_an_endorsement_outside_the_current_period_is_refused(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation, effective: date
) -> None:
    policy, _ = issue(uow, clock, underwriter, holder)

    with pytest.raises(RuleBroken) as caught:
        endorse(uow, clock, underwriter, policy, {"indemnity_rate": "0.80"}, effective=effective)

    assert caught.value.code == "policy.endorsement_outside_period"
    assert caught.value.field == "effective_date"
    with uow:
        assert len(uow.policies.terms_versions(policy.id)) == 1


def test_an_endorsement_cannot_predate_the_latest_version(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation
) -> None:
    policy, _ = issue(uow, clock, underwriter, holder)
    endorse(uow, clock, underwriter, policy, {"indemnity_rate": "0.80"}, effective=date(2026, 6, 1))

    with pytest.raises(RuleBroken) as caught:
        endorse(uow, clock, underwriter, policy, {"indemnity_rate": "0.70"}, effective=date(2026, 5, 31))

    assert caught.value.code == "policy.endorsement_backdated"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({}, "policy.no_change", "changes"),
        ({"indemnity_rate": "0.90"}, "policy.no_change", "changes"),
        ({"indemnity_rate": "0.97"}, "terms.out_of_range", "indemnity_rate"),
        ({"currency": "USD"}, "terms.unknown", "currency"),
        ({"colour": "blue"}, "terms.unknown", "colour"),
    ],
)
def test_a_bad_endorsement_is_refused(
    uow: FakeUnitOfWork,
    clock: FixedClock,
    underwriter: Actor,
    holder: Organisation,
    changes: dict[str, Any],
    code: str,
    field: str,
) -> None:
    policy, _ = issue(uow, clock, underwriter, holder)

    with pytest.raises(InvalidInput) as caught:
        endorse(uow, clock, underwriter, policy, changes)

    assert (caught.value.code, caught.value.field) == (code, field)
    with uow:
        assert len(uow.policies.terms_versions(policy.id)) == 1


def test_an_endorsement_needs_a_reason(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation
) -> None:
    policy, _ = issue(uow, clock, underwriter, holder)

    with pytest.raises(InvalidInput) as caught:
        endorse(uow, clock, underwriter, policy, {"indemnity_rate": "0.80"}, reason=" ")

    assert caught.value.code == "policy.reason_required"
    with uow:
        assert len(uow.policies.terms_versions(policy.id)) == 1


# ------------------------------------------------------------------ renewal


def test_renewal_appends_the_next_twelve_month_period(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation
) -> None:
    policy, v1 = issue(uow, clock, underwriter, holder)

    with uow:
        renewed = policies.renew_policy(uow, clock, underwriter, policy.id, reason="tacit renewal")

    expected = [Period(date(2026, 1, 1), date(2027, 1, 1)), Period(date(2027, 1, 1), date(2028, 1, 1))]
    assert renewed.periods == expected
    with uow:
        stored = policies.get_policy(uow, underwriter, policy.id)
        in_new_year = policies.current_terms(uow, underwriter, policy.id, date(2027, 6, 1))
    assert stored.periods == expected
    assert stored.current_period == Period(date(2027, 1, 1), date(2028, 1, 1))
    assert in_new_year == v1  # the terms in force carry over


def test_after_renewal_endorsements_go_to_the_new_period(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation
) -> None:
    policy, _ = issue(uow, clock, underwriter, holder)
    with uow:
        policies.renew_policy(uow, clock, underwriter, policy.id, reason="tacit renewal")

    v2 = endorse(uow, clock, underwriter, policy, {"indemnity_rate": "0.85"}, effective=date(2027, 1, 1))

    assert v2.version == 2
    with pytest.raises(RuleBroken):
        endorse(uow, clock, underwriter, policy, {"indemnity_rate": "0.80"}, effective=date(2026, 12, 31))


def test_a_cancelled_policy_is_not_renewed(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation
) -> None:
    policy, _ = issue(uow, clock, underwriter, holder)
    with uow:
        uow.working.policies[policy.id].status = PolicyStatus.CANCELLED
        uow.commit()

    with uow, pytest.raises(RuleBroken) as caught:
        policies.renew_policy(uow, clock, underwriter, policy.id, reason="tacit renewal")

    assert caught.value.code == "policy.not_in_force"
    with uow:
        stored = uow.policies.get(policy.id)
    assert stored is not None
    assert len(stored.periods) == 1


def test_a_renewal_without_a_reason_changes_nothing(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation
) -> None:
    policy, _ = issue(uow, clock, underwriter, holder)

    with uow, pytest.raises(InvalidInput):
        policies.renew_policy(uow, clock, underwriter, policy.id, reason="")

    with uow:
        stored = uow.policies.get(policy.id)
    assert stored is not None
    assert stored.periods == policy.periods


def test_an_endorsement_restating_a_rate_in_another_scale_changes_nothing(
    uow: FakeUnitOfWork, clock: FixedClock, underwriter: Actor, holder: Organisation
) -> None:
    policy, _ = issue(uow, clock, underwriter, holder)

    with pytest.raises(InvalidInput) as caught:
        endorse(uow, clock, underwriter, policy, {"indemnity_rate": "0.9"})

    assert caught.value.code == "policy.no_change"

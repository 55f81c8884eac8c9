"""The portal's offers pages: the insurers' offers recorded for an insured, and their comparison on its ledger.

``/offers`` lists the offers recorded for the insured (insurer, main terms, fees, number of limits) and, for
whom may record them (its broker acting under an ``act`` mandate — the service checks it), a form to record
one: the insurer, the main policy terms by their code names (DOMAIN.md §3), the fees and, optionally, a CSV of
the limits offered per buyer (``identifier,amount``). The offer and its limits are written in one unit of work:
a term out of range or a bad CSV line shows the service's refusal in the form (422, values kept) and nothing
is stored.

``/offers/comparison`` uploads the insured's ledger (CSV, FEC or Factur-X; left empty, the ledger tradecover
holds for the insured is used, with its buyers' insolvencies), optionally an offers file
(docs/COMPARE.md: its own offers, or the history's period, buyers, insolvencies and assumptions for the
recorded ones) with the limits CSV files it names, and a number of years. Each offer is replayed through the
simulator in a background job (:mod:`tradecover.web.jobs`, a few seconds per offer); ``/offers/comparison/
{job}`` refreshes itself until the offers are side by side, with the assumptions and the chart
(``…/chart.png``). The comparison writes nothing. A job belongs to the user who started it, for the insured
it acted for: any other is not found.

Every screen is the insured's: its own user, or a broker acting for it (:func:`access.insured_screen`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import Response

from tradecover.domain.errors import DomainError, InvalidInput, NotFound
from tradecover.domain.parties import Organisation
from tradecover.domain.terms import PolicyTerms
from tradecover.ingest.ledger_formats import parse_ledger_file
from tradecover.ingest.ledger_records import LedgerFile
from tradecover.services import offers
from tradecover.services.authorization import Actor
from tradecover.services.offers_ports import Offer
from tradecover.simulation.comparison import (
    OffersFile,
    compare_offers,
    comparison_png,
)
from tradecover.simulation.recorded_offers import offers_to_compare
from tradecover.simulation.stored_history import stored_ledger
from tradecover.web.access import insured_form, insured_screen
from tradecover.web.context import PageContext
from tradecover.web.jobs import JOBS, Job
from tradecover.web.rendering import SECURITY_HEADERS

router = APIRouter(include_in_schema=False)

COMPARISON_JOB = "offer_comparison"
CURRENCY = "EUR"
MAX_FIELD_LENGTH = 200
MAX_LIMIT_FILES = 20
MAX_YEARS = 50
# The main terms the form offers, by the code names the service takes (DOMAIN.md §3), and how each is typed:
# the other terms keep the policy's defaults. The premium rates are the two parts of ``premium_rates``.
RATE, AMOUNT, DAYS, NUMBER = "rate", "amount", "days", "number"
TERM_FIELDS: tuple[tuple[str, str], ...] = (
    ("indemnity_rate", RATE),
    ("domestic_rate", RATE),
    ("export_rate", RATE),
    ("minimum_premium", AMOUNT),
    ("non_qualifying_loss", AMOUNT),
    ("deductible", AMOUNT),
    ("waiting_period_days", DAYS),
    ("max_credit_period_days", DAYS),
    ("max_liability_multiple", NUMBER),
    ("discretionary_limit", AMOUNT),
)
PREMIUM_RATES = ("domestic_rate", "export_rate")
FORM_FIELDS = ("insurer", *(name for name, _ in TERM_FIELDS), *offers.FEE_NAMES)

FormText = Annotated[str, Form()]
Upload = Annotated[UploadFile | None, File()]


# --- The offers and the form to record one ----------------------------------------------------------------


def _insured_id(page: PageContext, actor: Actor) -> str:
    """The insured the screen is about: the one a broker acts for, or the insured user's own organisation."""
    return page.acting.id if page.acting is not None else actor.organisation_id


def _typed(text: str) -> str:
    """A figure as typed (French or English): spaces dropped, a decimal comma read as a point."""
    return "".join(text.split()).replace(",", ".")


def _form_terms(form: Mapping[str, str]) -> dict[str, Any]:
    """The terms typed in the form, as the service takes them; what is not a figure is left for it to refuse."""
    terms: dict[str, Any] = {}
    rates: dict[str, str] = {}
    for name, kind in TERM_FIELDS:
        value = _typed(form[name])
        if not value:
            continue
        typed: Any = int(value) if kind == DAYS and value.isdigit() else value
        if name in PREMIUM_RATES:
            rates[name] = typed
        else:
            terms[name] = typed
    if rates:
        terms["premium_rates"] = rates
    return terms


def _form_fees(form: Mapping[str, str]) -> dict[str, str]:
    return {name: _typed(form[name]) for name in offers.FEE_NAMES if _typed(form[name])}


def _error_field(error: DomainError) -> str | None:
    """Which field of the form a refusal is about (its last part: ``premium_rates.export_rate``, ``fees.…``)."""
    field = (error.field or "").rsplit(".", 1)[-1]
    if field in FORM_FIELDS:
        return field
    return "limits" if (error.field or "").startswith("limits") or error.code.startswith("offer_limits") else None


def _amount(value: Any) -> Decimal | None:
    """A stored term's amount: text, a number, or a ``{amount, currency}`` body as the API sends it."""
    if isinstance(value, Mapping):
        value = value.get("amount")
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class OfferRow:
    offer: Offer
    terms: PolicyTerms | None  # the offer's terms with the policy's defaults for those it leaves out


def _offer_rows(recorded: list[Offer], country: str) -> list[OfferRow]:
    rows = []
    for offer in recorded:
        try:
            terms: PolicyTerms | None = PolicyTerms.build(
                currency_code=offer.currency, policyholder_country=country, overrides=dict(offer.terms)
            )
        except DomainError:  # recorded under older rules: its own figures are still listed
            terms = None
        rows.append(OfferRow(offer, terms))
    return rows


def _offers_page(
    page: PageContext,
    actor: Actor,
    *,
    form: dict[str, str] | None = None,
    error: DomainError | None = None,
    recorded_id: str | None = None,
    status_code: int = 200,
) -> Response:
    with page.container.uow() as uow:
        organisation, recorded = offers.comparison_inputs(uow, actor, _insured_id(page, actor))
    values = {
        "insured": organisation,
        "rows": _offer_rows(recorded, organisation.country),
        "form": form or dict.fromkeys(FORM_FIELDS, ""),
        "term_fields": TERM_FIELDS,
        "fee_names": offers.FEE_NAMES,
        "currency": CURRENCY,
        "may_record": actor.role in offers.RECORDING_ROLES,
        "error": error,
        "error_field": _error_field(error) if error is not None else None,
        "recorded_id": recorded_id,
        "current": "offers",
    }
    return page.render("offer_list.html", values, status_code=status_code)


@router.get("/offers")
def offer_list(request: Request, recorded: str = "") -> Response:
    """The offers recorded for the insured, and the form to record one."""
    return insured_screen(request, lambda page, actor: _offers_page(page, actor, recorded_id=recorded[:100] or None))


@router.post("/offers")
def record_offer(
    request: Request,
    insurer: FormText = "",
    indemnity_rate: FormText = "",
    domestic_rate: FormText = "",
    export_rate: FormText = "",
    minimum_premium: FormText = "",
    non_qualifying_loss: FormText = "",
    deductible: FormText = "",
    waiting_period_days: FormText = "",
    max_credit_period_days: FormText = "",
    max_liability_multiple: FormText = "",
    discretionary_limit: FormText = "",
    annual_fee: FormText = "",
    per_buyer_fee: FormText = "",
    limits: Upload = None,
    csrf_token: FormText = "",
) -> Response:
    """Record an offer and, with a CSV, its limits: all of it or, on any refusal, nothing (shown in the form)."""
    typed = {
        "insurer": insurer,
        "indemnity_rate": indemnity_rate,
        "domestic_rate": domestic_rate,
        "export_rate": export_rate,
        "minimum_premium": minimum_premium,
        "non_qualifying_loss": non_qualifying_loss,
        "deductible": deductible,
        "waiting_period_days": waiting_period_days,
        "max_credit_period_days": max_credit_period_days,
        "max_liability_multiple": max_liability_multiple,
        "discretionary_limit": discretionary_limit,
        "annual_fee": annual_fee,
        "per_buyer_fee": per_buyer_fee,
    }
    form = {name: value[:MAX_FIELD_LENGTH] for name, value in typed.items()}

    def build(page: PageContext, actor: Actor) -> Response:
        limit = page.container.settings.max_upload_bytes
        data = limits.file.read(limit + 1) if limits is not None else b""
        name = (PurePath(limits.filename or "").name if limits is not None else "") or "limits.csv"
        container = page.container
        try:
            with container.uow() as uow:
                offer = offers.record_offer(
                    uow,
                    container.clock,
                    actor,
                    organisation_id=_insured_id(page, actor),
                    insurer=form["insurer"],
                    currency=CURRENCY,
                    terms=_form_terms(form),
                    fees=_form_fees(form),
                )
                if data:  # the CSV's limits as the offer's first version, in the same unit of work
                    offer = offers.import_offer_limits(uow, container.clock, actor, offer.id, data, name)
                uow.commit()
        except InvalidInput as refusal:
            return _offers_page(page, actor, form=form, error=refusal, status_code=422)
        return page.redirect(f"/offers?recorded={offer.id}#offers-table")

    return insured_form(request, csrf_token, build)


# --- The comparison -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComparisonRun:
    document: dict[str, Any]


def _job_owner(page: PageContext, actor: Actor) -> str:
    """Whose comparison it is: the user and, for a broker, the insured it acts for (hidden from another's)."""
    return actor.user_id if page.acting is None else f"{actor.user_id}@{page.acting.id}"


def _comparison_form(
    page: PageContext,
    actor: Actor,
    *,
    years: str = "",
    error: str | None = None,
    refusal: DomainError | None = None,
    status_code: int = 200,
) -> Response:
    with page.container.uow() as uow:
        organisation, recorded = offers.comparison_inputs(uow, actor, _insured_id(page, actor))
    values = {
        "insured": organisation,
        "recorded": len(recorded),
        "years": years,
        "max_years": MAX_YEARS,
        "error": error,
        "refusal": refusal,
        "max_megabytes": page.container.settings.max_upload_bytes // 1_048_576,
        "current": "offers",
    }
    return page.render("offer_compare.html", values, status_code=status_code)


def _read(upload: UploadFile | None, room: int) -> tuple[str, bytes]:
    """An uploaded file's name and bytes (at most `room` + 1 of them); a browser's empty field is no file."""
    if upload is None or not upload.filename:
        return "", b""
    return PurePath(upload.filename).name, upload.file.read(room + 1)


def _offers_file(
    uow_inputs: tuple[Organisation, list[Offer]], text: str | None, name: str, csv_files: Mapping[str, bytes]
) -> OffersFile:
    """The offers to compare, as the API reads them, with the limits files uploaded beside the offers file."""

    def read_file(relative: str) -> bytes:
        # the limits CSV files the offers file names are uploaded with it: found by their file name
        found = csv_files.get(PurePath(relative).name)
        if found is None:
            raise InvalidInput(f"{relative}: upload it with the offers file", code="compare.unreadable")
        return found

    organisation, recorded = uow_inputs
    return offers_to_compare(organisation, recorded, text, name, read_file=read_file)


@router.get("/offers/comparison")
def comparison_form(request: Request) -> Response:
    return insured_screen(request, lambda page, actor: _comparison_form(page, actor))


@router.post("/offers/comparison")
def start_comparison(
    request: Request,
    ledger: Upload = None,
    offers_file: Annotated[UploadFile | None, File(alias="offers")] = None,
    limit_files: Annotated[list[UploadFile] | None, File(alias="limits")] = None,
    years: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Start the comparison: the files are checked at once, the offers replayed in the background."""
    years_text = years.strip()[:10]

    def build(page: PageContext, actor: Actor) -> Response:
        def again(error: str | None, refusal: DomainError | None = None, status_code: int = 422) -> Response:
            return _comparison_form(
                page, actor, years=years_text, error=error, refusal=refusal, status_code=status_code
            )

        room = page.container.settings.max_upload_bytes
        ledger_name, ledger_data = _read(ledger, room)
        if ledger_name and not ledger_data:  # an empty file chosen: not the same as no file (the stored ledger)
            return again("ledger")
        offers_name, offers_data = _read(offers_file, room)
        csv_files: dict[str, bytes] = {}
        for upload in (limit_files or [])[:MAX_LIMIT_FILES]:
            csv_name, csv_data = _read(upload, room)
            if csv_data:
                csv_files[csv_name] = csv_data
        if len(ledger_data) + len(offers_data) + sum(map(len, csv_files.values())) > room:
            return again("too_large", status_code=413)
        if years_text and not (years_text.isdigit() and 1 <= int(years_text) <= MAX_YEARS):
            return again("years")
        last_years = int(years_text) if years_text else None
        with page.container.uow() as uow:
            inputs = offers.comparison_inputs(uow, actor, _insured_id(page, actor))
        try:
            text = offers_data.decode("utf-8") if offers_data else None
        except UnicodeDecodeError:
            return again("offers_text")
        try:
            spec = _offers_file(inputs, text, offers_name or "offers.yaml", csv_files)
            stored: LedgerFile | None = None
            if not ledger_data:  # no file: the ledger tradecover holds, read now (the job has no unit of work)
                with page.container.uow() as uow:
                    history = stored_ledger(uow, actor, inputs[0].id, spec.currency)
                spec, stored, ledger_name = history.applied_to(spec), history.ledger, history.ledger.name
        except InvalidInput as refusal:
            return again(None, refusal)

        def work(progress: Callable[[int, int], None]) -> ComparisonRun:
            # two steps, the replay of the offers the longer: the bar says where the work is
            progress(0, 2)
            parsed = stored or parse_ledger_file(ledger_data, ledger_name, file_format="auto", currency=spec.currency)
            progress(1, 2)
            return ComparisonRun(compare_offers(spec, parsed, years=last_years).document)

        job = JOBS.start(COMPARISON_JOB, _job_owner(page, actor), work, parameters={"file": ledger_name})
        return page.redirect(f"/offers/comparison/{job.id}")

    return insured_form(request, csrf_token, build)


def _figures(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each offer's figures as numbers for the page (the document carries them as text)."""

    def number(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    shown = []
    for result in document["offers"]:
        shown.append(
            {
                "insurer": result["insurer"],
                "years": {y["year"]: {k: number(v) for k, v in y.items() if k != "year"} for y in result["years"]},
                **{
                    key: number(result[key])
                    for key in (
                        "premium_amount",
                        "fees_amount",
                        "indemnity_amount",
                        "net_cost_amount",
                        "limits_granted_amount",
                        "covered_average_amount",
                        "peak_share",
                        "average_share",
                        "cost_per_covered_euro",
                    )
                },
                "worst_year": result["worst_year"]["year"],
                "worst_amount": number(result["worst_year"]["net_cost_amount"]),
                "claims": len(result["claims"]),
            }
        )
    return shown


def _comparison_job(page: PageContext, actor: Actor, job_id: str) -> Job[ComparisonRun]:
    job: Job[ComparisonRun] = JOBS.get(job_id[:100], COMPARISON_JOB, _job_owner(page, actor))
    return job


@router.get("/offers/comparison/{job_id}")
def comparison_result(request: Request, job_id: str) -> Response:
    """The comparison's progress, then the offers side by side, the assumptions and the chart."""

    def build(page: PageContext, actor: Actor) -> Response:
        job = _comparison_job(page, actor, job_id)
        run = job.result
        document = run.document if run is not None else None
        values = {
            "job": job,
            "file": job.parameters["file"] if isinstance(job.parameters, dict) else "",
            "document": document,
            "figures": _figures(document) if document is not None else [],
            "years": document["period"]["years"] if document is not None else [],
            "period": tuple(date.fromisoformat(document["period"][k]) for k in ("start", "end")) if document else (),
            "current": "offers",
        }
        return page.render("offer_comparison.html", values)

    return insured_screen(request, build)


@router.get("/offers/comparison/{job_id}/chart.png")
def comparison_chart(request: Request, job_id: str) -> Response:
    def build(page: PageContext, actor: Actor) -> Response:
        run = _comparison_job(page, actor, job_id).result
        if run is None:
            raise NotFound("the comparison has no result yet", code="job.not_found")
        # drawn on request, in the reader's language (a few tenths of a second)
        chart = comparison_png(run.document, page.language)
        return Response(chart, media_type="image/png", headers=SECURITY_HEADERS)

    return insured_screen(request, build)

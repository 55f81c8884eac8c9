"""The aged balance as a spreadsheet (CSV or XLSX): one row per buyer, then the policy's total.

The API (``GET /policies/{id}/aged-balance?format=csv|xlsx``) and the portal (``/aged-balance.csv``,
``/aged-balance.xlsx``) give the same file, so both build it here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tradecover.domain.receivables import AGE_BUCKETS
from tradecover.services.exports import Cell, csv_bytes, xlsx_bytes
from tradecover.services.exposure import AgedReport

ExportFormat = Literal["csv", "xlsx"]

AGED_HEADER: tuple[str, ...] = (
    "buyer_id",
    "buyer",
    "currency",
    *(f"{name}" for name, _, _ in AGE_BUCKETS),
    "total",
    "unapplied_cash",
    "dso_days",
)

MEDIA_TYPES: dict[ExportFormat, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class AgedExport:
    content: bytes
    media_type: str
    filename: str

    @property
    def disposition(self) -> str:
        return f'attachment; filename="{self.filename}"'


def aged_rows(report: AgedReport) -> list[list[Cell]]:
    """Each buyer's buckets, total, unapplied cash and DSO, then the policy's (other currencies are not in it)."""
    rows: list[list[Cell]] = []
    for buyer, aged, dso in report.buyers:
        rows.append(
            [buyer.id, buyer.legal_name, aged.currency, *(aged.buckets[n].amount for n, _, _ in AGE_BUCKETS),
             aged.total.amount, aged.on_account.amount, dso]
        )  # fmt: skip
    t = report.total
    rows.append(
        ["", "TOTAL", t.currency, *(t.buckets[n].amount for n, _, _ in AGE_BUCKETS), t.total.amount,
         t.on_account.amount, report.dso]
    )  # fmt: skip
    return rows


def aged_export(report: AgedReport, export_format: ExportFormat) -> AgedExport:
    stem = f"aged-balance-{report.policy_number}-{report.on.isoformat()}"
    rows = aged_rows(report)
    csv = export_format == "csv"
    content = csv_bytes(AGED_HEADER, rows) if csv else xlsx_bytes("Balance âgée", AGED_HEADER, rows)
    return AgedExport(content, MEDIA_TYPES[export_format], f"{stem}.{export_format}")

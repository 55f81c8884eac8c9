"""The ledger parsers on hostile input: a LedgerFile or InvalidInput, never any other exception.

Property-based (Hypothesis) for every test run; ``fuzz/fuzz_ledger_parsers.py``
runs the same property coverage-guided with atheris, for hours when wanted.
The files in ``hostile/`` are samples a user could upload by mistake or malice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradecover.domain.errors import InvalidInput
from tradecover.ingest import fec, ledger_csv
from tradecover.ingest.fec import FEC_COLUMNS, parse_customer_mapping, parse_fec
from tradecover.ingest.ledger_csv import COLUMNS, LEDGER_CSV_TEMPLATE, parse_ledger_csv
from tradecover.ingest.ledger_records import DisputeRecord, InvoiceRecord, LedgerFile, PaymentRecord, RecordKind

HOSTILE = Path(__file__).parent / "hostile"
NAME = "fuzzed.txt"

Parser = Callable[[bytes, str], LedgerFile]
PARSERS: dict[str, Parser] = {"csv": parse_ledger_csv, "fec": parse_fec}


def check(parser: Parser, data: bytes) -> LedgerFile | None:
    """Run a parser; only InvalidInput may escape, and what it returns holds together."""
    try:
        result = parser(data, NAME)
    except InvalidInput as error:
        refusal = error
    else:
        refusal = None
    if refusal is not None:
        assert refusal.message.startswith(NAME)
        return None
    assert isinstance(result, LedgerFile)
    for problem in result.problems:
        assert problem.source.file == NAME
        assert problem.source.line >= 1
        assert problem.code.startswith(("ledger_csv.", "fec."))
        assert problem.text()
    for record in result.records:
        assert record.source.file == NAME
        assert record.source.line >= 2  # the header is line 1 at the earliest
        if isinstance(record, InvoiceRecord):
            assert record.amount_excl_vat >= 0
            assert record.vat_amount >= 0
            assert record.amount_excl_vat + record.vat_amount > 0
            assert record.number
        elif isinstance(record, PaymentRecord):
            assert record.amount > 0
        else:
            assert isinstance(record, DisputeRecord)
    return result


def check_mapping(data: bytes) -> None:
    try:
        mapping = parse_customer_mapping(data, NAME)
    except InvalidInput:
        return
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in mapping.items())


# `make fuzz` raises the count (TRADECOVER_FUZZ_EXAMPLES); `make test` runs a brief pass.
FUZZ = settings(
    max_examples=int(os.environ.get("TRADECOVER_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(st.binary(max_size=4000))
def test_arbitrary_bytes(data: bytes) -> None:
    for parser in PARSERS.values():
        check(parser, data)
    check_mapping(data)


# Cells that look like what the files hold, and what breaks parsers.
_CELL_TEXT = st.text(
    alphabet=st.sampled_from(list("0123456789,.;|\t\"' -+/=eENaIf€éŒ\r\n\x00\x85\u2028AZ")), max_size=12
)
_PLAUSIBLE = st.sampled_from(
    [
        "",
        "0",
        "0,00",
        " 000000000001437,12",
        "-12,5",
        "1 234,56",
        "12.5",
        "1e3",
        "NaN",
        "20240115",
        "15/01/2024",
        "2024-01-15",
        "20241301",
        "411000",
        "4110",
        "445710",
        "512000",
        "706000",
        "709000",
        "AN",
        "BQ",
        "VE",
        "OD",
        "EUR",
        "USD",
        "XXX",
        "usd",
        "732829320",
        "732829321",
        "FR44732829320",
        "73282932000074",
        "invoice",
        "credit_note",
        "payment",
        "dispute",
        "resolve_dispute",
        "siren",
        "vat",
        "AA",
        "a*",
        "C001",
    ]
)
_CELL = st.one_of(_PLAUSIBLE, _PLAUSIBLE, _CELL_TEXT)


@st.composite
def fec_texts(draw: st.DrawFn) -> bytes:
    separator = draw(st.sampled_from(["|", "\t"]))
    columns = list(FEC_COLUMNS)
    if draw(st.booleans()):
        columns = [c for c in columns if c not in ("EcritureLet", "DateLet")]
    header = separator.join(columns)
    lines = [header]
    for _ in range(draw(st.integers(0, 12))):
        width = len(columns) + draw(st.sampled_from([0, 0, 0, 1, -1, 2]))
        lines.append(separator.join(draw(st.lists(_CELL, min_size=max(width, 0), max_size=max(width, 0)))))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    encoding = draw(st.sampled_from(["utf-8", "iso8859_15", "cp1252"]))
    return (newline.join(lines) + newline).encode(encoding, errors="replace")


@st.composite
def csv_texts(draw: st.DrawFn) -> bytes:
    separator = draw(st.sampled_from([",", ";"]))
    columns = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=12, unique=True))
    if "record_type" not in columns and draw(st.integers(0, 9)):
        columns.insert(draw(st.integers(0, len(columns))), "record_type")
    lines = [separator.join(column.upper() if draw(st.booleans()) else column for column in columns)]
    for _ in range(draw(st.integers(0, 12))):
        width = len(columns) + draw(st.sampled_from([0, 0, 0, 1, -1]))
        lines.append(separator.join(draw(st.lists(_CELL, min_size=max(width, 0), max_size=max(width, 0)))))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    return (newline.join(lines) + newline).encode(encoding, errors="replace")


# Per FEC column: values a well-formed file holds, then values that are wrong.
_FEC_VALUES: dict[str, tuple[list[str], list[str]]] = {
    "JournalCode": (["VE", "BQ", "AN", "OD", "CA", "RAN", "HA"], []),
    "JournalLib": (["Ventes", "Banque", "A nouveaux", "Divers", ""], []),
    "EcritureNum": (["1", "2", "3", "4"], []),
    "EcritureDate": (["20240115", "15/01/2024", "20240229"], ["20240230", ""]),
    "CompteNum": (
        ["411000", "411000", "411DUPONT", "445710", "445660", "512000", "530000", "706000", "709000", "665"],
        [],
    ),
    "CompteLib": (["Clients", "Dupont 732829320", ""], []),
    "CompAuxNum": (["", "C001", "C002", "732829320", "005542105"], []),
    "CompAuxLib": (["", "DUPONT SA", "FR44732829320", "SIREN 732 829 320", "Müller DE136695976"], []),
    "PieceRef": (["", "F1", "F2", "AV1", "VIR"], []),
    "PieceDate": (["", "20231110", "20240115", "2024-01-15"], ["20241332"]),
    "EcritureLib": (["", "Facture", "Règlement", "ech. 15/02/2024", "a|b"], []),
    "EcritureLet": (["", "", "AA", "aa*", "B"], []),
    "DateLet": (["", "20240301"], []),
    "ValidDate": (["20240131"], [""]),
    "Montantdevise": (["", "", "1500,00", "-0,015", "0", "7"], ["x"]),
    "Idevise": (["", "", "EUR", "USD", "JPY", "usd"], ["XXQ"]),
}
_AMOUNTS = ["1200,00", " 000000000001437,12", "-15,00", "0,01", "12,5", "200,00", "0,03"]
_BAD_AMOUNTS = ["1e3", "NaN", "1.000,00"]


@st.composite
def fec_ledgers(draw: st.DrawFn, *, clean: bool) -> bytes:
    """FEC lines made of plausible values, so that records, VAT splits and lettering get exercised.

    ``clean``: only well-formed values, a debit or a credit per line, never both.
    """
    lines = ["|".join(FEC_COLUMNS)]
    for _ in range(draw(st.integers(1, 15))):
        cells = {}
        for column, (good, bad) in _FEC_VALUES.items():
            cells[column] = draw(st.sampled_from(good if clean or not bad else good + bad))
        amount = draw(st.sampled_from(_AMOUNTS if clean else _AMOUNTS + _BAD_AMOUNTS))
        zero = draw(st.sampled_from(["0,00", "", "0"]))
        side = draw(st.sampled_from(["Debit", "Credit"] if clean else ["Debit", "Credit", "both"]))
        cells["Debit"] = amount if side in ("Debit", "both") else zero
        cells["Credit"] = amount if side in ("Credit", "both") else zero
        lines.append("|".join(cells[column] for column in FEC_COLUMNS))
    return ("\n".join(lines) + "\n").encode()


@FUZZ
@given(fec_ledgers(clean=False))
def test_fec_ledgers(data: bytes) -> None:
    check(parse_fec, data)


@FUZZ
@given(fec_ledgers(clean=True))
def test_fec_ledgers_reconcile_with_their_balances(data: bytes) -> None:
    result = check(parse_fec, data)
    assert result is not None
    assert result.problems == []
    # Every 411 line became (part of) one record: the open items add up to the balances.
    totals: dict[tuple[str | None, str], Decimal] = {}
    for record in result.records:
        if isinstance(record, InvoiceRecord):
            amount = record.amount_excl_vat + record.vat_amount
            signed = amount if record.kind is RecordKind.INVOICE else -amount
            key = (record.buyer.account, record.currency)
        else:
            assert isinstance(record, PaymentRecord)
            signed, key = -record.amount, (record.buyer.account, record.currency)
        totals[key] = totals.get(key, Decimal(0)) + signed
    stated = {(balance.buyer.account, balance.currency): balance.balance for balance in result.balances}
    assert {key: value for key, value in stated.items() if value} == {
        key: value for key, value in totals.items() if value
    }


@FUZZ
@given(fec_texts())
def test_fec_like_text(data: bytes) -> None:
    result = check(parse_fec, data)
    if result is not None:
        # Every balance is a customer's, in a known currency.
        assert all(balance.currency for balance in result.balances)
        assert all(isinstance(balance.balance, Decimal) for balance in result.balances)
    check(parse_ledger_csv, data)


@FUZZ
@given(csv_texts())
def test_csv_like_text(data: bytes) -> None:
    check(parse_ledger_csv, data)
    check(parse_fec, data)
    check_mapping(data)


@FUZZ
@given(st.text(max_size=2000))
def test_arbitrary_text_after_a_valid_header(text: str) -> None:
    check(parse_fec, ("|".join(FEC_COLUMNS) + "\n" + text).encode())
    check(parse_ledger_csv, (LEDGER_CSV_TEMPLATE + text).encode())
    check_mapping(("account,identifier\n" + text).encode())


HOSTILE_FILES = sorted(path.name for path in HOSTILE.iterdir() if path.name != "README.md")


def test_hostile_samples_are_there() -> None:
    assert len(HOSTILE_FILES) >= 8


@pytest.mark.parametrize("file_name", HOSTILE_FILES)
@pytest.mark.parametrize("parser_name", sorted(PARSERS))
def test_hostile_samples_are_refused_cleanly(file_name: str, parser_name: str) -> None:
    """Refused with InvalidInput, or read into line problems only: never a record, never a crash."""
    data = (HOSTILE / file_name).read_bytes()
    result = check(PARSERS[parser_name], data)
    if result is not None:
        assert result.records == []
    check_mapping(data)


@pytest.mark.parametrize(
    ("module", "limit", "parser", "code"),
    [
        (ledger_csv, "MAX_LEDGER_CSV_BYTES", parse_ledger_csv, "ledger_csv.too_large"),
        (fec, "MAX_FEC_BYTES", parse_fec, "fec.too_large"),
        (fec, "MAX_MAPPING_BYTES", parse_customer_mapping, "fec.mapping_too_large"),
    ],
)
def test_a_single_line_over_the_size_limit(
    module: object, limit: str, parser: Callable[[bytes, str], object], code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, limit, 10_000)
    data = b"record_type," + b"x" * 10_000
    with pytest.raises(InvalidInput) as caught:
        parser(data, NAME)
    assert caught.value.code == code


def test_a_huge_csv_field_is_refused_not_crashed() -> None:
    # Beyond the csv module's field size limit (128 KiB), inside the file size limit.
    data = b'record_type,reason\ndispute,"' + b"x" * 200_000 + b'"\n'
    with pytest.raises(InvalidInput) as caught:
        parse_ledger_csv(data, NAME)
    assert caught.value.code == "ledger_csv.unreadable"

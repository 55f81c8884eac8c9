"""The ledger CSV: every record type, every refusal named by line and column, French spreadsheets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tradecover.domain.errors import InvalidInput
from tradecover.domain.identifiers import generate_siren
from tradecover.ingest import ledger_csv
from tradecover.ingest.ledger_csv import COLUMNS, LEDGER_CSV_TEMPLATE, parse_ledger_csv
from tradecover.ingest.ledger_records import (
    BuyerRef,
    DisputeRecord,
    InvoiceRecord,
    LedgerFile,
    PaymentRecord,
    RecordKind,
    Source,
)

SIREN = "732829320"
SIRET = "73282932000074"
VAT = "FR44732829320"
OTHER_SIREN = generate_siren(7)

HEADER = (
    "record_type,siren,customer_account,customer_name,number,issue_date,delivery_date,due_date,"
    "amount_excl_vat,vat_amount,currency,invoice,date,amount,reference,order_reference,factor,reason"
)


def parse(text: str, *, encoding: str = "utf-8", name: str = "ledger.csv") -> LedgerFile:
    return parse_ledger_csv(text.encode(encoding), name)


def where(result: LedgerFile) -> list[tuple[int, str | None, str]]:
    return [(p.source.line, p.field, p.code) for p in result.problems]


def test_template_parses_with_no_problem() -> None:
    result = parse(LEDGER_CSV_TEMPLATE, name="template.csv")
    assert result.problems == []
    assert result.format == "csv"
    assert [type(r).__name__ for r in result.records] == [
        "InvoiceRecord",
        "InvoiceRecord",
        "DisputeRecord",
        "DisputeRecord",
        "PaymentRecord",
    ]
    kinds = [r.kind for r in result.records if not isinstance(r, PaymentRecord)]
    assert kinds == [RecordKind.INVOICE, RecordKind.CREDIT_NOTE, RecordKind.DISPUTE, RecordKind.RESOLVE_DISPUTE]
    assert set(LEDGER_CSV_TEMPLATE.splitlines()[0].split(",")) <= set(COLUMNS)


def test_every_record_type() -> None:
    text = (
        HEADER + "\n"
        f"invoice,{SIREN},C1,Dupont SA,F-1,2024-03-01,2024-02-27,2024-04-30,1000.00,200.00,,,,,,PO-9,Factor SA,\n"
        f"credit_note,{SIREN},C1,,AV-1,2024-03-05,,,100,20,EUR,F-1,,,,,,\n"
        f"payment,{SIREN},C1,,,,,,,,EUR,F-1 | F-2  F-3,2024-04-30,1080.00,VIR 42,,,\n"
        f"dispute,{SIREN},C1,,,,,,,,,F-1,2024-04-02,,,,,short delivery\n"
        f"resolve_dispute,{SIREN},C1,,,,,,,,,F-1,2024-04-09,,,,,\n"
    )
    result = parse(text)
    assert result.problems == []
    buyer = BuyerRef((("siren", SIREN),), "C1", "Dupont SA")
    invoice, credit_note, payment, dispute, resolved = result.records
    assert invoice == InvoiceRecord(
        source=Source("ledger.csv", 2),
        kind=RecordKind.INVOICE,
        buyer=buyer,
        number="F-1",
        issue_date=date(2024, 3, 1),
        delivery_date=date(2024, 2, 27),
        due_date=date(2024, 4, 30),
        amount_excl_vat=Decimal("1000.00"),
        vat_amount=Decimal("200.00"),
        currency="EUR",
        order_reference="PO-9",
        factor="Factor SA",
    )
    assert isinstance(credit_note, InvoiceRecord)
    assert credit_note.kind is RecordKind.CREDIT_NOTE
    assert credit_note.invoice_reference == "F-1"
    assert credit_note.due_date is None
    assert credit_note.delivery_date == date(2024, 3, 5)  # the issue date when empty
    assert credit_note.buyer.name is None
    assert payment == PaymentRecord(
        Source("ledger.csv", 4),
        BuyerRef((("siren", SIREN),), "C1"),
        date(2024, 4, 30),
        Decimal("1080.00"),
        "EUR",
        "VIR 42",
        ("F-1", "F-2", "F-3"),
    )
    assert dispute == DisputeRecord(
        Source("ledger.csv", 5),
        RecordKind.DISPUTE,
        BuyerRef((("siren", SIREN),), "C1"),
        "F-1",
        date(2024, 4, 2),
        "short delivery",
    )
    assert isinstance(resolved, DisputeRecord)
    assert resolved.kind is RecordKind.RESOLVE_DISPUTE
    assert resolved.reason is None


def test_buyer_identification_layouts() -> None:
    text = (
        "record_type,siren,vat_number,identifier_kind,identifier,customer_account,country,"
        "number,issue_date,due_date,amount_excl_vat,vat_amount\n"
        f"invoice,{SIREN},,,,,fr,F1,2024-01-01,2024-01-31,10,2\n"
        f"invoice,,{VAT},,,,,F2,2024-01-01,2024-01-31,10,2\n"
        f"invoice,,,SIRET,{SIRET[:3]} {SIRET[3:6]} {SIRET[6:9]} {SIRET[9:]},,,F3,2024-01-01,2024-01-31,10,2\n"
        "invoice,,,,,ACC-9,,F4,2024-01-01,2024-01-31,10,2\n"
        f"invoice,{SIREN},DE136695976,,,ACC-1,DE,F5,2024-01-01,2024-01-31,10,2\n"
        "invoice,5542105,,,,,,F6,2024-01-01,2024-01-31,10,2\n"
    )
    result = parse(text)
    assert result.problems == []
    buyers = [r.buyer for r in result.records]
    assert buyers[0] == BuyerRef((("siren", SIREN),), country="FR")
    assert buyers[1].identifiers == (("vat_fr", VAT),)
    assert buyers[2].identifiers == (("siret", SIRET),)
    assert buyers[3] == BuyerRef((), "ACC-9")
    assert buyers[4].identifiers == (("siren", SIREN), ("vat", "DE136695976"))
    assert buyers[4].country == "DE"
    # A SIREN whose leading zeros a spreadsheet dropped.
    assert buyers[5].identifiers == (("siren", "005542105"),)


def test_semicolon_separator_bom_and_decimal_comma() -> None:
    text = (
        "\ufeffRecord_Type;SIREN;Number;Issue_Date;Due_Date;Amount_Excl_VAT;VAT_Amount;Customer_Name\n"
        f"invoice;{SIREN};F1;01/03/2024;31/03/2024;1 234,50;246,90;Société Générale d'Électricité\n"
    )
    result = parse(text)
    assert result.problems == []
    (invoice,) = result.records
    assert isinstance(invoice, InvoiceRecord)
    assert invoice.amount_excl_vat == Decimal("1234.50")
    assert invoice.vat_amount == Decimal("246.90")
    assert invoice.issue_date == date(2024, 3, 1)
    assert invoice.due_date == date(2024, 3, 31)
    assert invoice.buyer.name == "Société Générale d'Électricité"


def test_windows_1252_file() -> None:
    text = (
        "record_type;siren;customer_name;invoice;date;amount\n"
        f"payment;{SIREN};Crème & Œufs – Société;F1;2024-01-02;10\n"
    )
    result = parse(text, encoding="cp1252")
    assert result.problems == []
    (payment,) = result.records
    assert payment.buyer.name == "Crème & Œufs – Société"


def test_cells_are_stripped_and_formulas_are_just_text() -> None:
    text = (
        "record_type,siren,customer_name,invoice,date,amount\n"
        f"  payment , {SIREN} ,=HYPERLINK(1),  F1 ,2024-01-02, 10 \n"
    )
    result = parse(text)
    assert result.problems == []
    (payment,) = result.records
    assert isinstance(payment, PaymentRecord)
    assert payment.buyer.name == "=HYPERLINK(1)"
    assert payment.invoices == ("F1",)
    assert payment.amount == Decimal(10)


def test_default_currency() -> None:
    text = f"record_type,siren,date,amount\npayment,{SIREN},2024-01-02,10\n"
    (payment,) = parse_ledger_csv(text.encode(), "l.csv", default_currency="CHF").records
    assert isinstance(payment, PaymentRecord)
    assert payment.currency == "CHF"
    with pytest.raises(InvalidInput):
        parse_ledger_csv(text.encode(), "l.csv", default_currency="XXY")


def test_line_problems_name_line_field_and_code_and_other_lines_still_parse() -> None:
    text = (
        HEADER + "\n"
        f"invoice,{SIREN},,,F1,2024-03-01,,2024-02-01,100,20,,,,,,,,\n"  # 2 due before issue
        f"invoice,{SIREN},,,F2,2024-13-01,,2024-04-01,100,20,,,,,,,,\n"  # 3 bad date
        f"invoice,{SIREN},,,F3,2024-03-01,,2024-04-01,-100,20,,,,,,,,\n"  # 4 negative
        f"invoice,{SIREN},,,F4,2024-03-01,,2024-04-01,0,0,,,,,,,,\n"  # 5 zero total
        f"invoice,{SIREN},,,F5,2024-03-01,,2024-04-01,100,20,EURO,,,,,,,\n"  # 6 bad currency
        "invoice,732829321,,,F6,2024-03-01,,2024-04-01,100,20,,,,,,,,\n"  # 7 bad check digit
        f"refund,{SIREN},,,F7,2024-03-01,,2024-04-01,100,20,,,,,,,,\n"  # 8 unknown type
        f"invoice,{SIREN},,,,2024-03-01,,,100,,,,,,,,,\n"  # 9 missing number, due date, VAT
        ",,,Nobody,F9,2024-03-01,,2024-04-01,100,20,,,,,,,,\n"  # 10 no type, no buyer
        f"payment,{SIREN},,,,,,,,,,,2024-03-01,0,,,,\n"  # 11 zero payment
        f"payment,{SIREN},,,,,,,,,,,,1.234.5,,,,\n"  # 12 missing date, bad amount
        f"dispute,{SIREN},,,,,,,,,,,2024-03-01,,,,,\n"  # 13 missing invoice
        ",,,Nobody,,,,,,,,,,,,,,\n"  # 14 no type
        f"invoice,{SIREN},,,F8,2024-03-01,,2024-04-01,100,20,,,,,,,,\n"  # 15 good
        f"invoice,{SIREN},,,F9,2024-03-01\n"  # 16 short line
        f"invoice,{SIREN},,,F10,2024-03-01,,2024-04-01,100,20,,,,,,,,,x\n"  # 17 long line
        f"invoice,{SIREN},,,F11,2024-03-01,,2024-04-01,100,20,,,,,,,,,,\n"  # 18 trailing separators
    )
    result = parse(text)
    assert where(result) == [
        (2, "due_date", "ledger_csv.due_before_issue"),
        (3, "issue_date", "ledger_csv.invalid_date"),
        (4, "amount_excl_vat", "ledger_csv.negative_amount"),
        (5, "amount_excl_vat", "ledger_csv.zero_total"),
        (6, "currency", "ledger_csv.invalid_currency"),
        (7, "siren", "ledger_csv.invalid_identifier"),
        (8, "record_type", "ledger_csv.unknown_record_type"),
        (9, "number", "ledger_csv.missing_field"),
        (9, "due_date", "ledger_csv.missing_field"),
        (9, "vat_amount", "ledger_csv.missing_field"),
        (10, "record_type", "ledger_csv.missing_field"),
        (11, "amount", "ledger_csv.zero_amount"),
        (12, "date", "ledger_csv.missing_field"),
        (12, "amount", "ledger_csv.invalid_amount"),
        (13, "invoice", "ledger_csv.missing_field"),
        (14, "record_type", "ledger_csv.missing_field"),
        (16, None, "ledger_csv.wrong_field_count"),
        (17, None, "ledger_csv.wrong_field_count"),
    ]
    assert [r.number for r in result.records if isinstance(r, InvoiceRecord)] == ["F8", "F11"]
    first = result.problems[0]
    assert first.text() == "ledger.csv, line 2, field due_date: due date 2024-02-01 is before the issue date 2024-03-01"
    assert "refund" in result.problems[6].message


def test_a_line_with_no_buyer_is_a_problem() -> None:
    text = "record_type,customer_name,date,amount\npayment,Dupont,2024-01-01,10\n"
    result = parse(text)
    assert where(result) == [(2, None, "ledger_csv.missing_buyer")]
    text = (
        "record_type,identifier_kind,identifier,date,amount\npayment,siren,,2024-01-01,10\npayment,,x,2024-01-01,10\n"
    )
    assert where(parse(text)) == [
        (2, "identifier", "ledger_csv.missing_field"),
        (3, "identifier_kind", "ledger_csv.missing_field"),
    ]
    text = f"record_type,identifier_kind,identifier,country,date,amount\npayment,ssn,{SIREN},FRA,2024-01-01,10\n"
    assert where(parse(text)) == [
        (2, "identifier_kind", "ledger_csv.invalid_identifier"),
        (2, "country", "ledger_csv.invalid_country"),
    ]


def test_quoted_cells_and_multi_line_records_report_their_first_line() -> None:
    text = (
        "record_type,siren,reason,invoice,date\n"
        f'dispute,{SIREN},"wrong price, and\nlate delivery",F1,2024-01-01\n'
        f"dispute,{SIREN},,,2024-01-01\n"
    )
    result = parse(text)
    (dispute,) = result.records
    assert isinstance(dispute, DisputeRecord)
    assert dispute.reason == "wrong price, and\nlate delivery"
    assert where(result) == [(4, "invoice", "ledger_csv.missing_field")]


def test_blank_lines_are_skipped_but_counted() -> None:
    text = f"\nrecord_type,siren,date,amount\n\n,,,\npayment,{SIREN},2024-01-02,x\n"
    assert where(parse(text)) == [(5, "amount", "ledger_csv.invalid_amount")]


@pytest.mark.parametrize(
    ("text", "code", "needle"),
    [
        ("", "ledger_csv.missing_column", "no header"),
        ("\n\n", "ledger_csv.missing_column", "no header"),
        ("siren,date,amount\n1,2,3\n", "ledger_csv.missing_column", "record_type"),
        ("record_type,siren,amout,colour\n", "ledger_csv.unknown_column", "'amout', 'colour'"),
        ("record_type,siren,SIREN\n", "ledger_csv.duplicate_column", "siren"),
        ('record_type,siren\n"payment,1\n', "ledger_csv.unreadable", "line"),
    ],
)
def test_file_refusals(text: str, code: str, needle: str) -> None:
    if code == "ledger_csv.unreadable":
        text += "x" * 200_000
    with pytest.raises(InvalidInput) as caught:
        parse(text, name="bad.csv")
    assert caught.value.code == code
    assert needle in caught.value.message
    assert caught.value.message.startswith("bad.csv: ")
    assert caught.value.context["file"] == "bad.csv"


def test_too_large_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_csv, "MAX_LEDGER_CSV_BYTES", 100)
    with pytest.raises(InvalidInput) as caught:
        parse(LEDGER_CSV_TEMPLATE)
    assert caught.value.code == "ledger_csv.too_large"
    assert "100 bytes" in caught.value.message


def test_too_many_problems_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_csv, "MAX_PROBLEMS", 3)
    text = "record_type,siren\n" + "nothing,\n" * 3
    assert len(parse(text).problems) == 3
    with pytest.raises(InvalidInput) as caught:
        parse(text + "nothing,\n")
    assert caught.value.code == "ledger_csv.too_many_problems"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ("record_type,siren\n".encode("utf-16"), "UTF-16"),
        (b"record_type,siren\npayment,\x00\n", "NUL"),
        (b"record_type,siren\npayment,\x81\x8d\n", "neither UTF-8 nor cp1252"),
    ],
)
def test_undecodable_refused(data: bytes, needle: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_ledger_csv(data, "bin.csv")
    assert caught.value.code == "ledger_csv.undecodable"
    assert needle in caught.value.message


def test_identifiers_are_checked_once_per_value() -> None:
    lines = "".join(f"payment,{OTHER_SIREN},2024-01-02,{n + 1}\n" for n in range(50))
    result = parse("record_type,siren,date,amount\n" + lines)
    assert result.problems == []
    assert len(result.records) == 50
    assert {r.buyer for r in result.records} == {BuyerRef((("siren", OTHER_SIREN),))}


def test_byte_order_mark_on_a_windows_1252_file() -> None:
    data = (
        b"\xef\xbb\xbf"
        + f"record_type;siren;customer_name;date;amount\npayment;{SIREN};Crème;2024-01-02;1\n".encode("cp1252")
    )
    (payment,) = parse_ledger_csv(data, "l.csv").records
    assert payment.buyer.name == "Crème"


def test_messages_quoting_a_huge_cell_are_cut() -> None:
    text = f"record_type,siren,date,amount\npayment,{SIREN},{'9' * 5000},{'1' * 5000}\n"
    problems = parse(text).problems
    assert [p.field for p in problems] == ["date", "amount"]
    assert all(len(p.message) <= 300 for p in problems)

"""The FEC read back into a customer ledger: reconstruction rules, exporters' quirks, problems, balances.

No FEC sample is vendored: each test writes the few lines it needs.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from tradecover.domain.errors import InvalidInput
from tradecover.domain.identifiers import generate_siren
from tradecover.ingest import fec
from tradecover.ingest.fec import FEC_COLUMNS, find_identifiers, parse_customer_mapping, parse_fec
from tradecover.ingest.ledger_records import (
    BuyerRef,
    InvoiceRecord,
    LedgerFile,
    PaymentRecord,
    RecordKind,
)

SIREN = "732829320"
SIRET = "73282932000074"
VAT = "FR44732829320"
OTHER_SIREN = generate_siren(11)

DEFAULTS = {
    "JournalCode": "VE",
    "JournalLib": "Ventes",
    "EcritureNum": "1",
    "EcritureDate": "20240115",
    "CompteNum": "411000",
    "CompteLib": "Clients",
    "CompAuxNum": "",
    "CompAuxLib": "",
    "PieceRef": "",
    "PieceDate": "",
    "EcritureLib": "",
    "Debit": "0,00",
    "Credit": "0,00",
    "EcritureLet": "",
    "DateLet": "",
    "ValidDate": "20240131",
    "Montantdevise": "",
    "Idevise": "",
}


def row(**fields: str) -> dict[str, str]:
    unknown = set(fields) - set(DEFAULTS)
    assert not unknown, unknown
    return {**DEFAULTS, **fields}


def fec_bytes(
    *rows: dict[str, str],
    separator: str = "|",
    columns: tuple[str, ...] = FEC_COLUMNS,
    newline: str = "\n",
    encoding: str = "utf-8",
    header: tuple[str, ...] | None = None,
) -> bytes:
    lines = [separator.join(header or columns)]
    lines += [separator.join(r[column] for column in columns) for r in rows]
    return (newline.join(lines) + newline).encode(encoding)


def parse(*rows: dict[str, str], **options: object) -> LedgerFile:
    return parse_fec(fec_bytes(*rows), "123456789FEC20241231.txt", **options)  # type: ignore[arg-type]


def sale(
    number: str,
    entry: str,
    account: str,
    total: str,
    vat: str,
    *,
    name: str = "DUPONT SA",
    day: str = "20240115",
    letter: str = "",
) -> list[dict[str, str]]:
    """A sales entry: the customer's debit, the sales credit, the VAT credit."""
    common = {"EcritureNum": entry, "EcritureDate": day, "PieceRef": number, "PieceDate": day}
    net = str(Decimal(total.replace(",", ".")) - Decimal(vat.replace(",", "."))).replace(".", ",")
    return [
        row(**common, CompAuxNum=account, CompAuxLib=name, EcritureLib=f"Facture {number}", Debit=total,
            EcritureLet=letter),
        row(**common, CompteNum="706000", CompteLib="Ventes", EcritureLib=f"Facture {number}", Credit=net),
        row(**common, CompteNum="445710", CompteLib="TVA collectée", EcritureLib=f"Facture {number}", Credit=vat),
    ]  # fmt: skip


def bank_payment(
    reference: str, entry: str, account: str, amount: str, *, day: str = "20240301", letter: str = ""
) -> list[dict[str, str]]:
    common = {"JournalCode": "BQ", "JournalLib": "Banque", "EcritureNum": entry, "EcritureDate": day}
    common |= {"PieceRef": reference, "PieceDate": day, "EcritureLib": f"VIR {account}"}
    return [
        row(**common, CompteNum="512000", CompteLib="Banque", Debit=amount),
        row(**common, CompAuxNum=account, CompAuxLib="DUPONT SA", Credit=amount, EcritureLet=letter),
    ]


def invoices(result: LedgerFile) -> list[InvoiceRecord]:
    return [r for r in result.records if isinstance(r, InvoiceRecord)]


def payments(result: LedgerFile) -> list[PaymentRecord]:
    return [r for r in result.records if isinstance(r, PaymentRecord)]


def where(result: LedgerFile) -> list[tuple[int, str | None, str]]:
    return [(p.source.line, p.field, p.code) for p in result.problems]


def balances(result: LedgerFile) -> dict[tuple[str | None, str], Decimal]:
    return {(b.buyer.account, b.currency): b.balance for b in result.balances}


# -- reconstruction -------------------------------------------------------------


def test_sales_invoice_with_vat_and_bank_payment_lettered_to_it() -> None:
    # The bank journal sorts first, as in many exports: lettering still finds the invoice.
    result = parse(
        *bank_payment("VIR1", "9", "C001", "1200,00", letter="AA"),
        *sale("F2024-1", "1", "C001", "1200,00", "200,00", letter="AA"),
    )
    assert result.problems == []
    assert result.format == "fec"
    (invoice,) = invoices(result)
    assert invoice.kind is RecordKind.INVOICE
    assert invoice.number == "F2024-1"
    assert invoice.source.line == 4
    assert invoice.buyer == BuyerRef((), "C001", "DUPONT SA")
    assert invoice.issue_date == invoice.delivery_date == date(2024, 1, 15)
    assert invoice.due_date == date(2024, 2, 14)  # 30 days by default
    assert (invoice.amount_excl_vat, invoice.vat_amount) == (Decimal("1000.00"), Decimal("200.00"))
    assert invoice.currency == "EUR"
    (payment,) = payments(result)
    assert payment.source.line == 3
    assert payment.received_on == date(2024, 3, 1)
    assert payment.amount == Decimal("1200.00")
    assert payment.invoices == ("F2024-1",)
    assert payment.reference == "VIR1 VIR C001"
    assert balances(result) == {("C001", "EUR"): Decimal("0.00")}


def test_partial_payments_and_partial_lettering_marks() -> None:
    result = parse(
        *sale("F1", "1", "C001", "1200,00", "200,00", letter="ab"),
        *bank_payment("VIR1", "2", "C001", "500,00", letter="AB*"),
        *bank_payment("VIR2", "3", "C001", "100,00", letter="Ab"),
        *bank_payment("VIR3", "4", "C001", "50,00"),
    )
    assert result.problems == []
    assert [(p.amount, p.invoices) for p in payments(result)] == [
        (Decimal("500.00"), ("F1",)),
        (Decimal("100.00"), ("F1",)),
        (Decimal("50.00"), ()),
    ]
    assert balances(result) == {("C001", "EUR"): Decimal("550.00")}


def test_default_terms() -> None:
    (invoice,) = invoices(parse(*sale("F1", "1", "C001", "120,00", "20,00"), default_terms_days=60))
    assert invoice.due_date == date(2024, 3, 15)
    (invoice,) = invoices(parse(*sale("F1", "1", "C001", "120,00", "20,00"), default_terms_days=0))
    assert invoice.due_date == invoice.issue_date
    with pytest.raises(InvalidInput) as caught:
        parse(*sale("F1", "1", "C001", "120,00", "20,00"), default_terms_days=-1)
    assert caught.value.code == "fec.invalid_terms"


def test_credit_note_with_vat_and_its_lettered_invoice() -> None:
    common = {"EcritureNum": "2", "PieceRef": "AV1", "PieceDate": "20240120", "EcritureLib": "Avoir AV1"}
    result = parse(
        *sale("F1", "1", "C001", "1200,00", "200,00", letter="B"),
        row(**common, CompAuxNum="C001", CompAuxLib="DUPONT SA", Credit="120,00", EcritureLet="B"),
        row(**common, CompteNum="709000", CompteLib="RRR accordés", Debit="100,00"),
        row(**common, CompteNum="445710", CompteLib="TVA", Debit="20,00"),
    )
    assert result.problems == []
    _, credit_note = invoices(result)
    assert credit_note.kind is RecordKind.CREDIT_NOTE
    assert credit_note.number == "AV1"
    assert credit_note.issue_date == date(2024, 1, 20)
    assert credit_note.due_date is None
    assert (credit_note.amount_excl_vat, credit_note.vat_amount) == (Decimal("100.00"), Decimal("20.00"))
    assert credit_note.invoice_reference == "F1"
    assert balances(result) == {("C001", "EUR"): Decimal("1080.00")}


def test_opening_entries() -> None:
    opening = {"JournalCode": "AN", "JournalLib": "A nouveaux", "EcritureDate": "20240101"}
    result = parse(
        row(**opening, EcritureNum="1", CompAuxNum="C001", PieceRef="F2023-9", PieceDate="20231110", Debit="600,00"),
        row(**opening, EcritureNum="1", CompAuxNum="C002", PieceDate="20231201", Debit="80,00"),
        row(**opening, EcritureNum="1", CompAuxNum="C003", PieceRef="VIR-OLD", PieceDate="20231220", Credit="40,00"),
        row(**opening, EcritureNum="1", CompteNum="445710", Credit="999,00"),  # not this year's VAT
        row(JournalCode="RAN", JournalLib="Reports", EcritureNum="2", CompAuxNum="C004", Debit="5,00"),
        row(JournalCode="X1", JournalLib="Report à nouveau", EcritureNum="3", CompAuxNum="C005", Debit="7,00"),
    )
    assert result.problems == []
    first, second, ran, labelled = invoices(result)
    assert (first.number, first.issue_date, first.due_date) == ("F2023-9", date(2023, 11, 10), date(2023, 12, 10))
    assert (first.amount_excl_vat, first.vat_amount) == (Decimal("600.00"), Decimal(0))
    assert (second.number, second.issue_date) == ("AN-1", date(2023, 12, 1))
    assert (ran.number, ran.issue_date) == ("AN-2", date(2024, 1, 15))
    assert labelled.number == "AN-3"
    (unapplied,) = payments(result)
    assert (unapplied.amount, unapplied.received_on, unapplied.reference) == (
        Decimal("40.00"),
        date(2023, 12, 20),
        "VIR-OLD",
    )


def test_settlements_without_cash_are_payments_keeping_their_label() -> None:
    common = {"JournalCode": "OD", "JournalLib": "Opérations diverses", "EcritureNum": "5", "PieceRef": "OD5"}
    write_off = common | {"EcritureNum": "6"}
    result = parse(
        *sale("F1", "1", "C001", "1200,00", "200,00", letter="C"),
        row(**common, CompAuxNum="C001", EcritureLib="Escompte", Credit="12,00", EcritureLet="C"),
        row(**common, CompteNum="665000", EcritureLib="Escompte", Debit="12,00"),
        row(**write_off, CompAuxNum="C001", EcritureLib="Créance irrécouvrable", Credit="1188,00"),
        row(**write_off, CompteNum="654000", Debit="1188,00"),
    )
    discount, write_off = payments(result)
    assert (discount.amount, discount.reference, discount.invoices) == (Decimal("12.00"), "OD5 Escompte", ("F1",))
    assert (write_off.amount, write_off.reference) == (Decimal("1188.00"), "OD5 Créance irrécouvrable")
    assert balances(result) == {("C001", "EUR"): Decimal("0.00")}


def test_payment_reversed_in_the_bank_is_an_invoice_due_at_once() -> None:
    bank = {"JournalCode": "BQ", "JournalLib": "Banque", "EcritureNum": "7", "PieceRef": "IMP1"}
    result = parse(
        row(**bank, CompAuxNum="C001", EcritureLib="Chèque impayé", Debit="300,00"),
        row(**bank, CompteNum="512000", Credit="300,00"),
        # An OD entry touching the bank account is a bank entry too.
        row(JournalCode="OD", EcritureNum="8", CompAuxNum="C001", PieceRef="RB", Debit="10,00"),
        row(JournalCode="OD", EcritureNum="8", CompteNum="530000", Credit="10,00"),
    )
    assert result.problems == []
    reversal, cash_refund = invoices(result)
    assert (reversal.number, reversal.vat_amount, reversal.amount_excl_vat) == ("IMP1-7", 0, Decimal("300.00"))
    assert reversal.due_date == reversal.issue_date
    assert cash_refund.number == "RB-8"


def test_instalments_of_one_invoice_are_one_invoice() -> None:
    common = {"EcritureNum": "3", "PieceRef": "F3", "PieceDate": "20240110"}
    result = parse(
        row(**common, CompAuxNum="C001", Debit="600,00", EcritureLib="1/2"),
        row(**common, CompAuxNum="C001", Debit="600,00", EcritureLib="2/2"),
        row(**common, CompAuxNum="C002", Debit="240,00"),
        row(**common, CompteNum="706000", Credit="1200,00"),
        row(**common, CompteNum="445710", Credit="240,00"),
    )
    assert result.problems == []
    first, other = invoices(result)
    assert (first.buyer.account, first.amount_excl_vat, first.vat_amount) == ("C001", Decimal("1000.00"), 200)
    assert (other.buyer.account, other.amount_excl_vat, other.vat_amount) == ("C002", Decimal("200.00"), 40)


def test_customer_account_without_auxiliary() -> None:
    result = parse(
        row(CompteNum="411DUPONT", CompteLib=f"Dupont SA RCS {SIREN}", PieceRef="F1", Debit="10,00"),
        row(CompteNum="411MARTIN", CompteLib="Martin", PieceRef="F2", Debit="20,00"),
        row(CompteNum="4110", CompAuxNum="", PieceRef="F3", Debit="30,00"),
    )
    assert [r.buyer for r in result.records] == [
        BuyerRef((("siren", SIREN),), "411DUPONT", f"Dupont SA RCS {SIREN}"),
        BuyerRef((), "411MARTIN", "Martin"),
        BuyerRef((), "4110", "Clients"),
    ]


def test_other_accounts_are_not_read() -> None:
    result = parse(
        row(CompteNum="606000", Debit="garbage", EcritureDate="not a date"),
        row(CompteNum="401000", CompAuxNum="F001", Credit="12,00", Debit="3,00"),
    )
    assert result.problems == []
    assert result.records == []
    assert result.balances == []


def test_balances_are_debits_minus_credits_per_customer() -> None:
    rows = [
        *sale("F1", "1", "C001", "1200,00", "200,00"),
        *sale("F2", "2", "C002", "240,00", "40,00", name="MARTIN"),
        *sale("F3", "3", "C001", "60,00", "10,00"),
        *bank_payment("VIR1", "4", "C001", "1000,00"),
        *bank_payment("VIR2", "5", "C002", "300,00"),  # overpaid: a credit balance
        row(EcritureNum="6", CompAuxNum="C003", Debit="0,00", Credit="0,00"),  # skipped silently
        row(EcritureNum="7", CompAuxNum="C004", Debit="-15,00"),  # a negative debit is a credit
        row(EcritureNum="8", CompAuxNum="C004", Credit="-20,00", PieceRef="X"),  # and the other way round
    ]
    result = parse(*rows)
    assert result.problems == []
    expected: dict[tuple[str | None, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        if r["CompteNum"].startswith("411") and (r["Debit"], r["Credit"]) != ("0,00", "0,00"):
            debit, credit = (Decimal(r[c].replace(",", ".")) for c in ("Debit", "Credit"))
            expected[r["CompAuxNum"], "EUR"] += debit - credit
    assert balances(result) == expected
    assert balances(result)[("C002", "EUR")] == Decimal("-60.00")
    assert balances(result)[("C004", "EUR")] == Decimal("5.00")
    # The open items add up to the balance.
    (c004_payment,) = [p for p in payments(result) if p.buyer.account == "C004"]
    assert c004_payment.amount == Decimal("15.00")
    (c004_invoice,) = [i for i in invoices(result) if i.buyer.account == "C004"]
    assert c004_invoice.amount_excl_vat == Decimal("20.00")


# -- exporters' quirks ---------------------------------------------------------


def test_sixteen_columns_tab_crlf_and_iso_8859_15() -> None:
    columns = tuple(c for c in FEC_COLUMNS if c not in ("EcritureLet", "DateLet"))
    rows = sale("F1", "1", "C001", "1200,00", "200,00", name="Société Générale €")
    data = fec_bytes(*rows, separator="\t", columns=columns, newline="\r\n", encoding="iso8859_15")
    assert b"\xe9" in data  # é in ISO-8859-15
    assert b"\xa4" in data  # €
    result = parse_fec(data, "fec.txt")
    assert result.problems == []
    (invoice,) = invoices(result)
    assert invoice.buyer.name == "Société Générale €"
    assert invoice.vat_amount == Decimal("200.00")


def test_windows_1252_when_its_bytes_show() -> None:
    data = fec_bytes(*sale("F1", "1", "C001", "12,00", "2,00", name="Œuvre – l’atelier €"), encoding="cp1252")
    (invoice,) = invoices(parse_fec(data, "fec.txt"))
    assert invoice.buyer.name == "Œuvre – l’atelier €"


def test_utf8_with_byte_order_mark_and_mixed_case_header() -> None:
    header = tuple(c.upper() if c != "Montantdevise" else "MontantDevise" for c in FEC_COLUMNS)
    data = b"\xef\xbb\xbf" + fec_bytes(*sale("F1", "1", "C001", "12,00", "2,00", name="Électricité"), header=header)
    (invoice,) = invoices(parse_fec(data, "fec.txt"))
    assert invoice.buyer.name == "Électricité"


def test_zero_padded_signed_amounts_and_french_dates() -> None:
    common = {"PieceRef": "F1", "EcritureDate": "15/01/2024", "PieceDate": "14/01/2024", "ValidDate": "31/01/2024"}
    result = parse(
        row(**common, CompAuxNum="C001", Debit=" 000000000001437,12", Credit=" 000000000000000,00"),
        row(**common, CompteNum="706000", Debit="+000000000000000,00", Credit=" 000000000001197,60"),
        row(**common, CompteNum="445710", Debit="0", Credit="000000000000239.52"),
    )
    assert result.problems == []
    (invoice,) = invoices(result)
    assert invoice.issue_date == date(2024, 1, 14)
    assert (invoice.amount_excl_vat, invoice.vat_amount) == (Decimal("1197.60"), Decimal("239.52"))


def test_foreign_currency_line() -> None:
    common = {"PieceRef": "F9", "Idevise": "USD"}
    result = parse(
        row(**common, CompAuxNum="C009", Debit="1437,12", Montantdevise="1500,00"),
        row(**common, CompteNum="706000", Credit="1197,60", Montantdevise="-1250,00"),
        row(**common, CompteNum="445710", Credit="239,52", Montantdevise="-250,00"),
        row(EcritureNum="2", CompAuxNum="C009", Credit="500,00", Montantdevise="-520,00", Idevise="usd",
            JournalCode="BQ", PieceRef="V"),
        row(EcritureNum="3", CompAuxNum="C009", Debit="100,00", Idevise="EUR", Montantdevise="100,00", PieceRef="E"),
        row(EcritureNum="4", CompAuxNum="C009", Debit="100,00", Idevise="XXQ", Montantdevise="100,00", PieceRef="Q"),
    )  # fmt: skip
    assert where(result) == [(7, "Idevise", "fec.invalid_currency")]
    invoice, in_euros = invoices(result)
    assert (invoice.currency, invoice.amount_excl_vat, invoice.vat_amount) == ("USD", Decimal("1250.00"), 250)
    assert (in_euros.currency, in_euros.amount_excl_vat) == ("EUR", Decimal("100.00"))
    (payment,) = payments(result)
    assert (payment.currency, payment.amount) == ("USD", Decimal("520.00"))
    assert balances(result) == {("C009", "USD"): Decimal("980.00"), ("C009", "EUR"): Decimal("200.00")}


def test_separator_inside_a_label_is_repaired() -> None:
    data = fec_bytes(*sale("F1", "1", "C001", "1200,00", "200,00", name="DUPONT SA"))
    lines = data.decode().splitlines()
    lines[1] = lines[1].replace("Facture F1", "Facture | F1 | janvier")  # the 411 line: EcritureLib
    lines[2] = lines[2].replace("Ventes|", "Ventes | export|", 1)  # the 706 line: JournalLib
    lines[3] = lines[3].replace("TVA collectée", "TVA|collectée")  # the 445 line: CompteLib
    result = parse_fec(("\n".join(lines) + "\n").encode(), "fec.txt")
    assert result.problems == []
    (invoice,) = invoices(result)
    assert (invoice.amount_excl_vat, invoice.vat_amount) == (Decimal("1000.00"), Decimal("200.00"))
    lines[1] = lines[1].replace("DUPONT SA", "DUPONT | SA")  # now two labels hold one
    result = parse_fec(("\n".join(lines) + "\n").encode(), "fec.txt")
    assert where(result) == [(2, None, "fec.wrong_field_count")]
    assert result.problems[0].text() == "fec.txt, line 2: 21 fields, the header has 18"


def test_trailing_separators() -> None:
    rows = sale("F1", "1", "C001", "1200,00", "200,00")
    text = "\n".join(line + "|" for line in fec_bytes(*rows).decode().splitlines()) + "\n"
    result = parse_fec(text.encode(), "fec.txt")
    assert result.problems == []
    assert invoices(result)[0].vat_amount == Decimal("200.00")
    # Only the lines end with a separator: the extra empty field is dropped.
    lines = fec_bytes(*rows).decode().splitlines()
    text = "\n".join([lines[0]] + [line + "|" for line in lines[1:]]) + "\n"
    assert parse_fec(text.encode(), "fec.txt").problems == []


def test_line_problems() -> None:
    result = parse(
        *sale("F1", "1", "C001", "120,00", "20,00"),
        row(EcritureNum="2", CompAuxNum="C001", EcritureDate="20241301", Debit="10,00"),  # 5
        row(EcritureNum="3", CompAuxNum="C001", PieceDate="2024-1-1", Debit="10,00"),  # 6
        row(EcritureNum="4", CompAuxNum="C001", Debit="10,00", Credit="5,00"),  # 7
        row(EcritureNum="5", CompAuxNum="C001", Debit="1.000,00"),  # 8
        row(EcritureNum="6", CompAuxNum="C001", Credit="12e3"),  # 9
        row(EcritureNum="7", CompteNum="445710", Credit="NaN"),  # 10
        row(EcritureNum="8", CompAuxNum="C001", Debit="1,00", Idevise="USD", Montantdevise="1_0"),  # 11
    )
    assert where(result) == [
        (5, "EcritureDate", "fec.invalid_date"),
        (6, "PieceDate", "fec.invalid_date"),
        (7, "Credit", "fec.debit_and_credit"),
        (8, "Debit", "fec.invalid_amount"),
        (9, "Credit", "fec.invalid_amount"),
        (10, "Credit", "fec.invalid_amount"),
        (11, "Montantdevise", "fec.invalid_amount"),
    ]
    assert result.problems[0].text() == (
        "123456789FEC20241231.txt, line 5, field EcritureDate: '20241301' is not a date YYYYMMDD or DD/MM/YYYY"
    )
    assert len(result.records) == 1
    # Refused lines still count in the balance the file states, when their amounts read.
    assert balances(result) == {("C001", "EUR"): Decimal("146.00")}


def test_too_many_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fec, "MAX_PROBLEMS", 2)
    bad = [row(EcritureNum=str(n), CompAuxNum="C1", EcritureDate="x", Debit="1") for n in range(3)]
    assert len(parse(*bad[:2]).problems) == 2
    with pytest.raises(InvalidInput) as caught:
        parse(*bad)
    assert caught.value.code == "fec.too_many_problems"


# -- file refusals ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code", "needle"),
    [
        (b"", "fec.missing_header", "empty"),
        (b"\r\n\n", "fec.missing_header", "empty"),
        (b"just some text\nmore\n", "fec.missing_header", "not a FEC"),
        (b"JournalCode|JournalLib|EcritureNum\n", "fec.missing_column", "EcritureDate, CompteNum"),
        ("|".join(FEC_COLUMNS[:11]) + "|Montant|Sens|ValidDate|Montantdevise|Idevise\n", "fec.missing_column",
         "Debit, Credit"),
        ("|".join(FEC_COLUMNS) + "|Debit\n", "fec.duplicate_column", "Debit"),
        ("|".join(FEC_COLUMNS).encode("utf-16"), "fec.undecodable", "UTF-16"),
        (b"JournalCode|\x00\x01\x02", "fec.undecodable", "NUL"),
    ],
)  # fmt: skip
def test_file_refusals(data: bytes | str, code: str, needle: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_fec(data.encode() if isinstance(data, str) else data, "bad.txt")
    assert caught.value.code == code
    assert needle in caught.value.message
    assert caught.value.message.startswith("bad.txt: ")


def test_too_large_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fec, "MAX_FEC_BYTES", 200)
    with pytest.raises(InvalidInput) as caught:
        parse(*sale("F1", "1", "C001", "120,00", "20,00"))
    assert caught.value.code == "fec.too_large"


def test_accounting_currency_checked() -> None:
    with pytest.raises(InvalidInput):
        parse(*sale("F1", "1", "C001", "120,00", "20,00"), currency="EURO")
    (invoice,) = invoices(parse(*sale("F1", "1", "C001", "120,00", "20,00"), currency="CHF"))
    assert invoice.currency == "CHF"


# -- buyers ------------------------------------------------------------------------


def test_identifiers_found_in_labels() -> None:
    assert find_identifiers(f"DUPONT SA - SIREN {SIREN[:3]} {SIREN[3:6]} {SIREN[6:]}") == (("siren", SIREN),)
    assert find_identifiers(f"DUPONT SIRET {SIRET}") == (("siret", SIRET),)
    assert find_identifiers(f"Dupont TVA {VAT[:4]} {VAT[4:]}") == (("vat_fr", VAT),)
    assert find_identifiers("Müller GmbH DE136695976") == (("vat", "DE136695976"),)
    assert find_identifiers("SIREN 732829321 (bad check digit)") == ()
    assert find_identifiers("Tel 0123456789, order 12345") == ()
    assert find_identifiers("x", account=SIREN) == (("siren", SIREN),)
    assert find_identifiers("x", account="005542105") == ()  # a zero-padded counter, not a SIREN
    assert find_identifiers(f"{OTHER_SIREN} and {VAT}") == (("vat_fr", VAT), ("siren", OTHER_SIREN))


def test_siren_in_the_customer_label() -> None:
    result = parse(*sale("F1", "1", "C001", "120,00", "20,00", name=f"DUPONT SA {SIREN}"))
    (invoice,) = invoices(result)
    assert invoice.buyer == BuyerRef((("siren", SIREN),), "C001", f"DUPONT SA {SIREN}")
    assert result.balances[0].buyer == invoice.buyer


def test_customer_mapping_file() -> None:
    mapping_csv = (
        "Account;Identifier;Name\n"
        f"C001;{SIREN[:3]} {SIREN[3:6]} {SIREN[6:]};Dupont\n"
        f"C002;{VAT};Martin\n"
        ";;\n"
        f"C003;{SIRET};\n"
        f"C001;{SIREN};again, same\n"
    ).encode("cp1252")
    mapping = parse_customer_mapping(mapping_csv, "mapping.csv")
    assert mapping == {"C001": SIREN, "C002": VAT, "C003": SIRET}
    result = parse(
        *sale("F1", "1", "C001", "120,00", "20,00", name=f"DUPONT {OTHER_SIREN}"),
        *sale("F2", "2", "C002", "120,00", "20,00"),
        *sale("F3", "3", "C004", "120,00", "20,00", name=f"NOT MAPPED {OTHER_SIREN}"),
        customer_accounts=mapping,
    )
    assert [i.buyer.identifiers for i in invoices(result)] == [
        (("siren", SIREN),),  # the mapping wins over the label
        (("vat_fr", VAT),),
        (("siren", OTHER_SIREN),),
    ]


def test_invalid_mapping_given_directly() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(*sale("F1", "1", "C001", "120,00", "20,00"), customer_accounts={"C001": "nonsense"})
    assert caught.value.code == "fec.invalid_mapping"
    assert "C001" in caught.value.message


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("account,identifier\nC1,732829321\n", "fec.mapping_invalid_identifier", "m.csv, line 2, field identifier: "),
        ("account,identifier\nC1,\n", "fec.mapping_missing_field", "m.csv, line 2, field identifier: "),
        ("account,identifier\n\n,732829320\n", "fec.mapping_missing_field", "m.csv, line 3, field account: "),
        ("account;siren\nC1;732829320\n", "fec.mapping_missing_column", "m.csv, line 1, field identifier: "),
        ("identifier,account\n732829320\n", "fec.mapping_bad_line", "m.csv, line 2: "),
        (
            f"account,identifier\nC1,{SIREN}\nC1,{OTHER_SIREN}\n",
            "fec.mapping_duplicate",
            "m.csv, line 3, field account",
        ),
        ("", "fec.mapping_missing_column", "m.csv: empty"),
    ],
)
def test_mapping_refusals(text: str, code: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_customer_mapping(text.encode(), "m.csv")
    assert caught.value.code == code
    assert caught.value.message.startswith(message)


def test_mapping_refuses_binary() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_customer_mapping("account,identifier\n".encode("utf-16"), "m.csv")
    assert caught.value.code == "fec.mapping.undecodable"


def test_quoted_fields() -> None:
    rows = sale("F1", "1", "C001", "1200,00", "200,00", name="DUPONT | FILS")
    lines = ["|".join(f'"{c}"' for c in FEC_COLUMNS)]
    lines += ["|".join(f'"{r[c]}"' for c in FEC_COLUMNS) for r in rows]
    result = parse_fec(("\r\n".join(lines) + "\r\n").encode(), "fec.txt")
    assert result.problems == []
    (invoice,) = invoices(result)
    assert invoice.buyer.name == "DUPONT | FILS"
    assert invoice.vat_amount == Decimal("200.00")


def test_byte_order_mark_on_a_latin_file() -> None:
    data = b"\xef\xbb\xbf" + fec_bytes(*sale("F1", "1", "C001", "12,00", "2,00", name="Crème"), encoding="iso8859_15")
    (invoice,) = invoices(parse_fec(data, "fec.txt"))
    assert invoice.buyer.name == "Crème"


@pytest.mark.parametrize("enabled", [True, False])
def test_garbage_collector_state_is_restored(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        parse(*sale("F1", "1", "C001", "120,00", "20,00"))
        assert gc.isenabled() is enabled
        with pytest.raises(InvalidInput):
            parse(*sale("F1", "1", "C001", "120,00", "20,00"), customer_accounts={"C001": "?"})
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()

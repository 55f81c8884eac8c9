"""The French FEC (fichier des écritures comptables) read back into a receivables ledger.

Why: every French company must be able to produce its FEC (article A47 A-1
of the Livre des procédures fiscales), so it is the one ledger export an
insured can always give, whatever its accounting software. It holds
accounting lines, not invoices: this module rebuilds the customer ledger
(invoices, credit notes, payments) from the customer receivable lines.

Layout read:

* a header line naming the columns, separator ``|`` or TAB (whichever the
  header holds more of): ``JournalCode JournalLib EcritureNum EcritureDate
  CompteNum CompteLib CompAuxNum CompAuxLib PieceRef PieceDate EcritureLib
  Debit Credit EcritureLet DateLet ValidDate Montantdevise Idevise``; names
  matched case-insensitively (``MontantDevise`` too) and by name, so any
  order; ``EcritureLet``/``DateLet`` may be missing (16-column files);
  other extra columns are ignored; the ``Montant``/``Sens`` variant is
  refused (its missing ``Debit``/``Credit`` columns are named); fields in
  double quotes (which the text does not provide for, but a few exporters
  write) are read as CSV fields, one line at a time;
* dates ``YYYYMMDD`` (also ``DD/MM/YYYY`` and ``YYYY-MM-DD``); amounts with
  a decimal comma (or point), no thousands separator, possibly zero-padded
  and signed with spaces (``" 000000000001437,12"``, ``-0000012,50``);
* CRLF, LF or CR line ends; UTF-8 (with or without byte-order mark), else
  ISO-8859-15 as the text prescribes — or Windows-1252 when the bytes
  0x80-0x9F occur, which are control characters in ISO-8859-15 but ``€``,
  ``œ`` and quotes in what Windows software writes; NUL bytes (UTF-16,
  binary) refuse the file;
* a line with more fields than the header (a separator typed inside a
  label) is repaired when merging the extra fields into one label —
  ``EcritureLib`` first, then ``CompAuxLib``, ``CompteLib``, ``JournalLib``
  — gives a line whose dates and amounts read; otherwise, like a line with
  too few fields, it is a problem ``fec.wrong_field_count``.

Only customer receivable lines (``CompteNum`` starting with ``411``) become
records; VAT (``445…``), bank and cash (``51…``, ``53…``) and sales
(``7…``) lines of the same entry (same ``JournalCode`` + ``EcritureNum``)
only say what kind of record a 411 line is. Other lines are split but
never checked: their amounts and dates are not read at all (a million-line
FEC is mostly purchases, payroll and VAT). The customer is ``CompAuxNum``
(``CompAuxLib`` its name), or, when a firm keeps one 411 account per
customer, the ``CompteNum`` itself (``411DUPONT``, ``CompteLib``).

Reconstruction, per 411 line (debit and credit never both set — that is
a problem ``fec.debit_and_credit``; a negative debit is read as a credit
and the other way round; a line with both zero is skipped):

* debit in the opening journal (code ``AN``, ``RAN``, ``ANO`` or a label
  containing "nouveau"): an open item brought forward, an invoice numbered
  ``PieceRef`` (``AN-<EcritureNum>`` without one), dated ``PieceDate``
  (the old piece date these entries carry), all of it excluding VAT (the
  VAT was accounted in an earlier year);
* debit in an entry that touches a bank or cash account (``51…``/``53…``)
  or in a bank journal (code ``BQ…``, ``BAN…``, ``BNK…``, ``CAI…``, ``CA``
  or a label with "banque", "bank", "caisse"): a payment reversed (bounced
  cheque, refund); a ledger has no negative payment, so it is an invoice
  numbered ``<PieceRef>-<EcritureNum>``, VAT 0, due at once;
* any other debit: a sales invoice numbered ``PieceRef`` (else
  ``<JournalCode>-<EcritureNum>``), issued on ``PieceDate`` (else
  ``EcritureDate``), delivered that day, due ``default_terms_days`` later
  (the FEC has no due date); its VAT is the 445 credits of the entry minus
  its 445 debits, shared between the entry's 411 debits in proportion to
  their amounts (0 when out of range); several 411 debits of one entry for
  one customer and one number (instalments) are one invoice;
* credit in the opening journal: cash received and not yet applied, a
  payment dated ``PieceDate`` (else ``EcritureDate``);
* credit in a bank entry (as above): a payment received on
  ``EcritureDate``;
* credit in an entry with a debit on a 7… (sales returns) or 445 account:
  a credit note numbered like an invoice, VAT from the 445 debits;
* any other credit (an OD journal: discount granted 665, bad debt written
  off 654, set-off against a supplier debt 401, transfer between customer
  accounts, bill of exchange 413): the customer no longer owes that
  amount, which for the insured's exposure is what a payment means, so it
  is a payment whose reference keeps ``PieceRef`` and ``EcritureLib`` for
  the reader to tell which (a receivable moved to 416, doubtful customers,
  leaves 411 this way too: only 411 is the customer ledger here);
* lettering: the invoices a payment settles (and a credit note's invoice
  when it is one) are those read from debit lines with the same
  ``EcritureLet`` on the same customer account, wherever they are in the
  file; letters are compared upper-cased and without a trailing ``*``
  (partial lettering in some software);
* foreign currency: when ``Idevise`` names another currency than the
  accounting one and ``Montantdevise`` is set, the record is in ``Idevise``
  for the absolute ``Montantdevise``, VAT split in the same proportion as
  in the accounting currency.

Buyers: the identifiers a record carries come from ``customer_accounts``
(account → SIREN, SIRET or VAT number, see :func:`parse_customer_mapping`;
the account as written, case included; a value that is no identifier
refuses the file) when it maps the account, else from checksum-valid SIREN, SIRET, French or
EU VAT numbers written in ``CompAuxLib`` (or ``CompteLib`` when the account
is the 411 account itself — a collective 411's label names no customer) and
in the account number (where a zero-padded counter such as ``001234567`` is
not read as a SIREN).

``balances``: per customer and currency, the debits minus the credits of
all its 411 lines whose amounts read, including lines refused for another
reason — the file's own statement of what each customer owes, which the
open items after import must add up to.

Every problem is reported with file, line, FEC column name and a stable
code ``fec.*``; more than :data:`MAX_PROBLEMS` refuse the file.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice

from tradecover.domain.errors import InvalidInput
from tradecover.domain.identifiers import detect_identifier, parse_identifier
from tradecover.domain.money import CURRENCY_MINOR_UNITS
from tradecover.domain.money import currency as checked_currency
from tradecover.ingest.ledger_csv import decode_text, refuse_binary
from tradecover.ingest.ledger_records import (
    BuyerRef,
    CustomerBalance,
    InvoiceRecord,
    LedgerFile,
    LedgerRecord,
    LineProblem,
    PaymentRecord,
    RecordKind,
    Source,
    file_problem,
)

__all__ = [
    "FEC_COLUMNS",
    "MAX_FEC_BYTES",
    "MAX_MAPPING_BYTES",
    "MAX_PROBLEMS",
    "find_identifiers",
    "parse_customer_mapping",
    "parse_fec",
]

#: Largest file accepted: a large company's year, several million lines.
MAX_FEC_BYTES = 500_000_000

#: Largest customer mapping file accepted.
MAX_MAPPING_BYTES = 20_000_000

#: Line problems reported before the file is refused as plainly not a FEC.
MAX_PROBLEMS = 10_000

#: The 18 columns of article A47 A-1, in order.
FEC_COLUMNS: tuple[str, ...] = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)
_OPTIONAL = frozenset({"EcritureLet", "DateLet"})
_BY_FOLDED = {column.casefold(): column for column in FEC_COLUMNS}
#: Labels that may have swallowed a separator, the likeliest first.
_LABELS = ("EcritureLib", "CompAuxLib", "CompteLib", "JournalLib")
_DATE_COLUMNS = ("EcritureDate", "PieceDate", "DateLet", "ValidDate")
_AMOUNT_COLUMNS = ("Debit", "Credit", "Montantdevise")

_C1_BYTES = re.compile(rb"[\x80-\x9f]")
_ZERO = Decimal(0)
_CENT = Decimal("0.01")
_AMOUNT = re.compile(r"([+-]?) *0*([0-9]{1,20})(?:[.,]([0-9]{0,6}))? *(-?)")
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,20}(?:[.,][0-9]{1,6})?")
#: Stripped from an amount, these leave nothing when it is zero ("0,00", " 000,00", "-0").
_ZERO_CHARS = " +-0.,"
_OPENING_CODES = frozenset({"AN", "RAN", "ANO", "ANX"})
_BANK_PREFIXES = ("BQ", "BAN", "BNK", "CAI")
_BANK_WORDS = ("banque", "bank", "caisse")

# Identifiers written in a label, one pattern tried left to right: at a given
# place a French VAT number, then another EU VAT number (country code, then
# the number: Austria's starts with U, Spain's may start with a letter, the
# others with a digit, so that "SIREN 7…" is no Slovenian VAT), then a SIRET,
# then a SIREN, so that the SIREN inside a SIRET or a VAT number is not read
# again on its own.
_IDENTIFIER_IN_TEXT = re.compile(
    r"(?<![0-9A-Z])(?:"
    r"(?P<vat_fr>FR ?[0-9A-HJ-NP-Z]{2} ?[0-9]{3} ?[0-9]{3} ?[0-9]{3})(?![0-9])"
    r"|(?P<vat>(?:ATU|ES ?[0-9A-Z]|(?:BE|BG|CY|CZ|DE|DK|EE|EL|FI|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI)"
    r" ?[0-9])(?:[0-9A-Z]| (?=[0-9])){6,14})(?![0-9A-Z])"
    r"|(?P<siret>[0-9]{3} ?[0-9]{3} ?[0-9]{3} ?[0-9]{5})(?![0-9A-Z])"
    r"|(?P<siren>[0-9]{3} ?[0-9]{3} ?[0-9]{3})(?![0-9A-Z])"
    r")"
)
#: What every identifier above holds: seven digits in a row (spaces allowed).
_DIGIT_RUN = re.compile(r"[0-9](?: ?[0-9]){6}")
_KIND_ORDER = {"vat_fr": 0, "vat": 1, "siret": 2, "siren": 3}
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


class _TooMany(Exception):
    """Raised once :data:`MAX_PROBLEMS` is reached."""


def _amount(raw: str) -> Decimal:
    """A FEC amount; ValueError when it is none."""
    text = raw.strip()
    if _PLAIN_AMOUNT.fullmatch(text):
        return Decimal(text.replace(",", "."))
    if not text:
        return _ZERO
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise ValueError(f"{raw.strip()[:40]!r} is not an amount (digits, decimal comma)")
    sign, whole, fraction, trailing = match.groups()
    if sign and trailing:
        raise ValueError(f"{raw.strip()[:40]!r} has two signs")
    value = Decimal(f"{whole}.{fraction}") if fraction else Decimal(whole)
    return -value if sign == "-" or trailing else value


def _date_parser(cache: dict[str, date]) -> Callable[[str], date]:
    """A date reader filling ``cache``: a FEC has a few hundred distinct dates and a million lines."""

    def parse(raw: str) -> date:
        known = cache.get(raw)
        if known is not None:
            return known
        text = raw.strip()
        value: date | None = None
        try:
            if len(text) == 8 and text.isdigit() and text.isascii():
                value = date(int(text[:4]), int(text[4:6]), int(text[6:]))
            elif len(text) == 10 and text[2] == "/" and text[5] == "/":
                day, month, year = text[:2], text[3:5], text[6:]
                if (day + month + year).isdigit() and (day + month + year).isascii():
                    value = date(int(year), int(month), int(day))
            elif (
                len(text) == 10
                and text[4] == "-"
                and text[7] == "-"
                and (text[:4] + text[5:7] + text[8:]).isdigit()
                and text.isascii()
            ):
                value = date(int(text[:4]), int(text[5:7]), int(text[8:]))
        except ValueError:
            value = None
        if value is None:
            raise ValueError(f"{text[:40]!r} is not a date YYYYMMDD or DD/MM/YYYY")
        if len(cache) < 100_000:
            cache[raw] = value
        return value

    return parse


def _siren(digits: str) -> bool:
    """Whether 9 ASCII digits are a SIREN: the Luhn check (as python-stdnum, without its per-call overhead)."""
    odd = sum(ord(digit) - 48 for digit in digits[-1::-2])
    even = sum(_LUHN_DOUBLED[ord(digit) - 48] for digit in digits[-2::-2])
    return (odd + even) % 10 == 0 and digits != "000000000"


def find_identifiers(*texts: str, account: str | None = None) -> tuple[tuple[str, str], ...]:
    """Checksum-valid SIREN, SIRET and VAT numbers written in labels (and in an account number).

    French VAT numbers first, then other VAT numbers, SIRETs, SIRENs; the
    SIREN inside a SIRET or a French VAT number is not reported again (but
    is when the VAT number's key is wrong). In ``account`` a SIREN or SIRET
    starting with ``00`` is taken for a zero-padded counter, not an
    identifier. SIRENs are checked here (Luhn, as the domain does: a FEC has
    100,000 customers to look at); the other kinds go through
    :func:`~tradecover.domain.identifiers.parse_identifier`.
    """
    found: list[tuple[str, str]] = []
    for position, text in enumerate((*texts, account or "")):
        if not text or _DIGIT_RUN.search(text) is None:
            continue
        is_account = position == len(texts)
        for match in _IDENTIFIER_IN_TEXT.finditer(text.upper()):
            kind = match.lastgroup or ""
            number = match.group()
            if kind in ("siren", "siret") and is_account and number.startswith("00"):
                continue
            pair: tuple[str, str] | None = None
            if kind == "siren":
                digits = number.replace(" ", "")
                if _siren(digits):
                    pair = ("siren", digits)
            else:
                try:
                    identifier = parse_identifier(kind, number)
                except InvalidInput:
                    if kind == "vat_fr" and _siren(siren := number.replace(" ", "")[-9:]):
                        pair = ("siren", siren)  # a SIREN with a wrong VAT key
                else:
                    pair = (identifier.kind.value, identifier.value)
            if pair is not None and pair not in found:
                found.append(pair)
    found.sort(key=lambda pair: _KIND_ORDER.get(pair[0], len(_KIND_ORDER)))
    return tuple(found)


class _Header:
    """Column positions of one FEC."""

    def __init__(self, line: str, name: str) -> None:
        if line.count("|") == 0 and line.count("\t") == 0:
            raise file_problem(
                name,
                "not a FEC: the first line is not a header separated by '|' or TAB (JournalCode|JournalLib|...)",
                "fec.missing_header",
            )
        self.separator = "|" if line.count("|") >= line.count("\t") else "\t"
        #: Every field in double quotes, as a few exporters write (the text has no quoting).
        self.quoted = line.lstrip().startswith('"')
        cells = [cell.strip() for cell in self.split(line)]
        #: A separator ends the lines (the header's, or most of the first data lines).
        self.trailing = False
        while cells and not cells[-1]:
            cells.pop()
            self.trailing = True
        self.width = len(cells)
        positions: dict[str, int] = {}
        for position, cell in enumerate(cells):
            column = _BY_FOLDED.get(cell.casefold())
            if column is None:
                continue
            if column in positions:
                raise file_problem(name, f"column {column!r} appears twice", "fec.duplicate_column", field=column)
            positions[column] = position
        missing = [column for column in FEC_COLUMNS if column not in positions and column not in _OPTIONAL]
        if missing:
            raise file_problem(
                name,
                f"not a FEC with Debit/Credit columns: missing column(s) {', '.join(missing)}",
                "fec.missing_column",
                field=missing[0],
            )
        self.positions = positions
        self.labels = [positions[label] for label in _LABELS]
        self.dates = [positions[column] for column in _DATE_COLUMNS if column in positions]
        self.amounts = [positions[column] for column in _AMOUNT_COLUMNS]

    def look_at(self, lines: list[str]) -> None:
        """Tell from the first data lines whether they end with a separator the header does not have."""
        sample = [self.split(line) for line in lines[:20] if line.strip()]
        ending = sum(1 for fields in sample if len(fields) == self.width + 1 and not fields[-1].strip())
        if ending >= 3 and ending * 2 > len(sample):
            self.trailing = True

    def split(self, line: str) -> list[str]:
        """The fields of a line; a quoted file goes through the csv module (a quoted field may hold separators)."""
        if not self.quoted:
            return line.split(self.separator)
        try:
            return next(csv.reader((line,), delimiter=self.separator), [])
        except csv.Error:  # a field beyond the csv module's size limit
            return line.split(self.separator)


class _Parser:
    """One FEC being read; see the module docstring for the rules."""

    def __init__(self, name: str, customer_accounts: Mapping[str, str] | None, money: str, terms: timedelta) -> None:
        self.name = name
        self.mapping = customer_accounts or {}
        self.currency = money
        self.terms = terms
        self.problems: list[LineProblem] = []
        self.dates: dict[str, date] = {}
        self.parse_date = _date_parser(self.dates)
        self.buyers: dict[str, BuyerRef] = {}
        self.journals: dict[str, tuple[str, tuple[bool, bool]]] = {}
        self.balances: dict[str, dict[str, Decimal]] = {}

    # -- problems ----------------------------------------------------------

    def problem(self, line: int, field: str | None, message: str, code: str) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            raise _TooMany
        self.problems.append(LineProblem(Source(self.name, line), field, message, f"fec.{code}"))

    # -- helpers -------------------------------------------------------------

    def journal(self, code: str, label: str) -> tuple[bool, bool]:
        """(opening, bank) for a journal code and label."""
        known = self.journals.get(code)
        if known is not None and known[0] == label:
            return known[1]
        upper, folded = code.strip().upper(), label.casefold()
        opening = upper in _OPENING_CODES or "nouveau" in folded
        bank = upper.startswith(_BANK_PREFIXES) or upper == "CA" or any(word in folded for word in _BANK_WORDS)
        flags = (opening, bank and not opening)
        self.journals[code] = (label, flags)
        return flags

    def buyer(self, account: str, name: str, own_account: bool) -> BuyerRef:
        known = self.buyers.get(account)
        if known is not None:
            return known
        mapped = self.mapping.get(account)
        if mapped is not None:
            try:
                identifier = detect_identifier(mapped)
            except InvalidInput as error:
                raise InvalidInput(
                    f"{self.name}: customer_accounts maps account {account!r} to {mapped!r}: {error.message}",
                    code="fec.invalid_mapping",
                    field="customer_accounts",
                    context={"file": self.name, "account": account},
                ) from None
            identifiers: tuple[tuple[str, str], ...] = ((identifier.kind.value, identifier.value),)
        elif own_account:
            identifiers = find_identifiers(name)
        else:
            identifiers = find_identifiers(name, account=account)
        buyer = BuyerRef(identifiers, account, name or None)
        self.buyers[account] = buyer
        return buyer

    def add_balance(self, account: str, money: str, amount: Decimal) -> None:
        per_currency = self.balances.get(account)
        if per_currency is None:
            per_currency = self.balances[account] = {}
        per_currency[money] = per_currency.get(money, _ZERO) + amount

    def repair(self, fields: list[str], header: _Header, line: int) -> list[str] | None:
        """A line with too many fields, with the extra ones merged back into the label that held a separator.

        A candidate is kept when its dates and amounts then read (the labels
        sit before them, so a wrong merge shifts them out of shape). In a
        file whose lines end with a separator, that last empty field goes
        first.
        """
        width = header.width
        bases = [fields]
        if header.trailing and len(fields) > width and not fields[-1].strip():
            bases.insert(0, fields[:-1])
        for base in bases:
            extra = len(base) - width
            if extra == 0 and self.readable(base, header, strict=False):
                return base
            if extra > 0:
                for label in header.labels:
                    candidate = [
                        *base[:label],
                        header.separator.join(base[label : label + extra + 1]),
                        *base[label + extra + 1 :],
                    ]
                    if self.readable(candidate, header, strict=True):
                        return candidate
        self.problem(line, None, f"{len(fields)} fields, the header has {width}", "wrong_field_count")
        return None

    def readable(self, fields: list[str], header: _Header, *, strict: bool) -> bool:
        """Whether a repaired line reads: its dates, amounts, currency and account.

        ``strict`` (a label merged) also wants ``ValidDate`` and a debit or a
        credit: a wrong merge shifts fields, and an empty one reads as
        anything.
        """
        positions = header.positions
        required = (positions["EcritureDate"], positions["ValidDate"]) if strict else (positions["EcritureDate"],)
        try:
            for column in header.dates:
                raw = fields[column]
                if raw.strip() or column in required:
                    self.parse_date(raw)
            amounts = [_amount(fields[column]) for column in header.amounts]
        except ValueError:
            return False
        currency = fields[positions["Idevise"]].strip()
        return (
            bool(fields[positions["CompteNum"]].strip())
            and (bool(amounts[0] or amounts[1]) or not strict)
            and (not currency or (len(currency) == 3 and currency.isalpha()))
        )


def _check_terms(default_terms_days: int) -> timedelta:
    if isinstance(default_terms_days, bool) or not isinstance(default_terms_days, int) or default_terms_days < 0:
        raise InvalidInput(
            f"default_terms_days must be a whole number of days ≥ 0, got {default_terms_days!r}",
            code="fec.invalid_terms",
            field="default_terms_days",
        )
    return timedelta(days=default_terms_days)


def _decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without byte-order mark), else Windows-1252 or ISO-8859-15 (see the module docstring)."""
    refuse_binary(data, name, "fec")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]  # a UTF-8 mark on a file that is not (wholly) UTF-8
    if _C1_BYTES.search(data):
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass
    return data.decode("iso8859_15")  # every byte is a character there


def parse_fec(
    data: bytes,
    name: str,
    *,
    customer_accounts: Mapping[str, str] | None = None,
    currency: str = "EUR",
    default_terms_days: int = 30,
) -> LedgerFile:
    """Rebuild the customer ledger of a FEC: records from its 411 lines, problems, balances.

    ``customer_accounts`` maps a customer account (``CompAuxNum``, or the
    ``CompteNum`` of a per-customer 411 account) to its SIREN, SIRET or VAT
    number; ``currency`` is the accounting currency of the file;
    ``default_terms_days`` gives invoices a due date (the FEC has none).
    Raises :class:`~tradecover.domain.errors.InvalidInput` when the file as a
    whole cannot be read as a FEC.
    """
    money = checked_currency(currency)
    terms = _check_terms(default_terms_days)
    if len(data) > MAX_FEC_BYTES:
        raise file_problem(name, f"larger than {MAX_FEC_BYTES} bytes", "fec.too_large")
    text = _decode(data, name)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    del text
    first = 0
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first == len(lines):
        raise file_problem(name, "empty file, no header", "fec.missing_header")
    header = _Header(lines[first], name)
    header.look_at(lines[first + 1 : first + 21])
    parser = _Parser(name, customer_accounts, money, terms)
    # Hundreds of thousands of lists, tuples and records are created and most
    # are kept: the cyclic collector would walk them again and again for
    # nothing (none holds a cycle), which more than doubles the time of a
    # large file. It runs again as soon as the file is read.
    collecting = gc.isenabled()
    gc.disable()
    try:
        rows = _scan(parser, header, lines, first + 1)
        del lines
        records = _rebuild(parser, header, rows)
        del rows
        result = LedgerFile(name=name, format="fec", records=records, problems=parser.problems)
        result.problems.sort(key=lambda problem: problem.source.line)
        for account, per_currency in parser.balances.items():
            buyer = parser.buyers.get(account) or BuyerRef((), account)
            for code, balance in per_currency.items():
                result.balances.append(CustomerBalance(buyer, balance, code))
    except _TooMany:
        raise file_problem(
            name,
            f"more than {MAX_PROBLEMS} problems, stopped checking: is this a FEC?",
            "fec.too_many_problems",
        ) from None
    finally:
        if collecting:
            gc.enable()
    return result


class _Entry:
    """What the lines of one entry (JournalCode, EcritureNum) say about its customer lines."""

    __slots__ = ("bank", "customer_credit", "customer_debit", "sales_debit", "vat_credit", "vat_debit")

    def __init__(self) -> None:
        self.vat_credit = self.vat_debit = self.customer_debit = self.customer_credit = _ZERO
        self.bank = self.sales_debit = False


# One customer line kept for the second pass: line number, fields, amount, debit?, its entry.
_Row = tuple[int, list[str], Decimal, bool, _Entry]

# What an account number's first three characters make of its line in the first pass.
_CUSTOMER, _VAT, _BANK, _SALES = 1, 2, 3, 4
_PREFIXES = {
    "411": _CUSTOMER,
    "445": _VAT,
    **{f"{head}{digit}": _BANK for head in ("51", "53") for digit in "0123456789"},
    **{f"7{digits:02d}": _SALES for digits in range(100)},
}


def _scan(parser: _Parser, header: _Header, lines: list[str], start: int) -> list[_Row]:
    """First pass: split every line, keep the 411 lines, note what each entry holds.

    The hot loop of the module: a million-line FEC goes through it, so it
    does as little as it can for lines that are not 411 or 445 ones (no
    Decimal, no date) and binds everything it uses to locals. The lines of
    an entry are consecutive in practice, so the entry last seen is kept at
    hand; an entry split over the file is still one entry.
    """
    positions = header.positions
    width, separator, quoted = header.width, header.separator, header.quoted
    p_journal, p_number, p_account = positions["JournalCode"], positions["EcritureNum"], positions["CompteNum"]
    p_debit, p_credit = positions["Debit"], positions["Credit"]
    entries: dict[tuple[str, str], _Entry] = {}
    entry = _Entry()
    entry_journal = entry_number = None
    zero, zero_chars, amount_of, prefixes = _ZERO, _ZERO_CHARS, _amount, _PREFIXES
    rows: list[_Row] = []
    keep = rows.append
    line_number = start
    for line in islice(lines, start, None):
        line_number += 1
        fields = header.split(line) if quoted else line.split(separator)
        if len(fields) != width:
            if not line.strip():
                continue
            repaired = parser.repair(fields, header, line_number)
            if repaired is None:
                continue
            fields = repaired
        kind = prefixes.get(fields[p_account][:3])
        if kind is None:
            if fields[p_account][:1] != " ":
                continue
            kind = prefixes.get(fields[p_account].lstrip()[:3])
            if kind is None:
                continue
        raw_debit, raw_credit = fields[p_debit], fields[p_credit]
        if kind >= _BANK:
            if not (raw_debit.strip(zero_chars) or (kind == _BANK and raw_credit.strip(zero_chars))):
                continue  # a zero line, or a sale (a credit on 7…)
            debit = credit = zero
        else:
            try:
                debit = amount_of(raw_debit) if raw_debit.strip(zero_chars) else zero
            except ValueError as error:
                parser.problem(
                    line_number, "Debit", f"{'' if kind == _CUSTOMER else 'VAT line: '}{error}", "invalid_amount"
                )
                continue
            try:
                credit = amount_of(raw_credit) if raw_credit.strip(zero_chars) else zero
            except ValueError as error:
                parser.problem(
                    line_number, "Credit", f"{'' if kind == _CUSTOMER else 'VAT line: '}{error}", "invalid_amount"
                )
                continue
            if not (debit or credit):
                continue
        if fields[p_number] != entry_number or fields[p_journal] != entry_journal:
            entry_journal, entry_number = fields[p_journal], fields[p_number]
            known = entries.get((entry_journal, entry_number))
            if known is None:
                known = entries[entry_journal, entry_number] = _Entry()
            entry = known
        if kind == _CUSTOMER:
            if debit and credit:
                parser.problem(
                    line_number,
                    "Credit",
                    f"both debit ({raw_debit.strip()}) and credit ({raw_credit.strip()}) are set",
                    "debit_and_credit",
                )
                parser.add_balance(_account_of(fields, positions), parser.currency, debit - credit)
                continue
            net = debit - credit
            if net > 0:
                entry.customer_debit += net
                keep((line_number, fields, net, True, entry))
            else:
                entry.customer_credit -= net
                keep((line_number, fields, -net, False, entry))
        elif kind == _VAT:
            net = credit - debit
            if net > 0:
                entry.vat_credit += net
            elif net < 0:
                entry.vat_debit -= net
        elif kind == _BANK:
            entry.bank = True
        else:
            entry.sales_debit = True
    return rows


def _account_of(fields: list[str], positions: Mapping[str, int]) -> str:
    return fields[positions["CompAuxNum"]].strip() or fields[positions["CompteNum"]].strip()


def _share(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``total × part / whole`` to the cent; all of it when the part is the whole."""
    if part == whole:
        return total
    return (total * part / whole).quantize(_CENT)


def _rebuild(parser: _Parser, header: _Header, rows: list[_Row]) -> list[LedgerRecord]:
    """Second pass: one record per 411 line (instalments merged), in file order.

    A payment's lettered invoices may come later in the file (bank journals
    often sort first), so lettered payments and credit notes are completed
    once every invoice is known.
    """
    positions = header.positions
    p_journal, p_journal_label = positions["JournalCode"], positions["JournalLib"]
    p_number, p_date = positions["EcritureNum"], positions["EcritureDate"]
    p_account, p_account_label = positions["CompteNum"], positions["CompteLib"]
    p_aux, p_aux_label = positions["CompAuxNum"], positions["CompAuxLib"]
    p_piece, p_piece_date, p_label = positions["PieceRef"], positions["PieceDate"], positions["EcritureLib"]
    p_fx_amount, p_fx = positions["Montantdevise"], positions["Idevise"]
    p_letter = positions.get("EcritureLet")
    parse_date, problem, add_balance, journal = parser.parse_date, parser.problem, parser.add_balance, parser.journal
    accounting, name, terms, zero = parser.currency, parser.name, parser.terms, _ZERO
    invoice_kind, credit_note_kind = RecordKind.INVOICE, RecordKind.CREDIT_NOTE
    balances, dates = parser.balances, parser.dates
    # Per raw account cell: the account, its buyer, its balances (a customer has many lines).
    accounts: dict[str, tuple[str, BuyerRef, dict[str, Decimal]]] = {}
    letters: dict[str, str] = {}

    records: list[LedgerRecord | None] = []
    append = records.append
    merged: dict[tuple[str, str, str, str, str], int] = {}
    # The invoice numbers each (customer, letter) holds, and who waits for them.
    lettered: dict[tuple[str, str], list[str]] = {}
    waiting_payments: list[tuple[int, Source, BuyerRef, date, Decimal, str, str | None, tuple[str, str]]] = []
    waiting_credit_notes: list[tuple[int, tuple[str, str]]] = []
    for line, fields, amount, debit, entry in rows:
        raw_account = fields[p_aux] or fields[p_account]
        known = accounts.get(raw_account)
        if known is None:
            aux = fields[p_aux].strip()
            account = aux or fields[p_account].strip()
            label = fields[p_aux_label].strip() if aux else fields[p_account_label].strip()
            buyer = parser.buyers.get(account) or parser.buyer(account, label, own_account=not aux)
            per_currency = balances.setdefault(account, {})
            known = (account, buyer, per_currency)
            if aux or not fields[p_aux]:  # not a blank auxiliary account standing for the general one
                accounts[raw_account] = known
        account, buyer, per_currency = known
        record_currency, record_amount = accounting, amount
        fx_code = fields[p_fx]
        if fx_code and (fx_code := fx_code.strip().upper()) and fx_code != accounting:
            try:
                fx_amount = abs(_amount(fields[p_fx_amount]))
            except ValueError as error:
                add_balance(account, accounting, amount if debit else -amount)
                problem(line, "Montantdevise", str(error), "invalid_amount")
                continue
            if fx_amount:
                if fx_code not in CURRENCY_MINOR_UNITS:
                    add_balance(account, accounting, amount if debit else -amount)
                    problem(line, "Idevise", f"unknown currency {fx_code[:10]!r}", "invalid_currency")
                    continue
                record_currency, record_amount = fx_code, fx_amount
        per_currency[record_currency] = per_currency.get(record_currency, zero) + (
            record_amount if debit else -record_amount
        )
        raw_date = fields[p_date]
        entry_date = dates.get(raw_date)
        if entry_date is None:
            try:
                entry_date = parse_date(raw_date)
            except ValueError as error:
                problem(line, "EcritureDate", str(error), "invalid_date")
                continue
        raw_date = fields[p_piece_date]
        piece_date = dates.get(raw_date) if raw_date else None
        if piece_date is None and raw_date and raw_date.strip():
            try:
                piece_date = parse_date(raw_date)
            except ValueError as error:
                problem(line, "PieceDate", str(error), "invalid_date")
                continue
        raw_letter = fields[p_letter] if p_letter is not None else ""
        if raw_letter:
            letter = letters.get(raw_letter, "")
            if not letter and len(letters) < 100_000:
                letter = letters[raw_letter] = raw_letter.strip().rstrip("*").strip().upper()
        else:
            letter = ""
        opening, bank = journal(fields[p_journal], fields[p_journal_label])
        bank = not opening and (bank or entry.bank)

        if not debit and (opening or bank or not (entry.sales_debit or entry.vat_debit)):
            # A payment: cash received (bank, or brought forward unapplied), or
            # a settlement without cash (discount, write-off, set-off, ...).
            piece, label = fields[p_piece].strip(), fields[p_label].strip()
            reference = f"{piece} {label}" if piece and label else piece or label or None
            received = (piece_date or entry_date) if opening else entry_date
            if letter:
                waiting_payments.append(
                    (
                        len(records),
                        Source(name, line),
                        buyer,
                        received,
                        record_amount,
                        record_currency,
                        reference,
                        (account, letter),
                    )
                )
                append(None)
            else:
                append(
                    PaymentRecord(Source(name, line), buyer, received, record_amount, record_currency, reference, ())
                )
            continue

        issued = piece_date or entry_date
        piece, entry_number = fields[p_piece].strip(), fields[p_number].strip()
        if bank:  # a debit: a payment reversed
            number = f"{piece}-{entry_number}" if piece else entry_number
        else:
            number = piece or (f"AN-{entry_number}" if opening else f"{fields[p_journal].strip()}-{entry_number}")
        vat = zero
        if debit:
            if not opening and not bank and entry.vat_credit:
                vat_total = entry.vat_credit - entry.vat_debit
                if vat_total > 0:
                    vat = _share(vat_total, amount, entry.customer_debit)
        elif entry.vat_debit:
            vat_total = entry.vat_debit - entry.vat_credit
            if vat_total > 0:
                vat = _share(vat_total, amount, entry.customer_credit)
        if vat:
            if vat > amount:
                vat = zero
            elif record_currency != accounting:
                quantum = Decimal(1).scaleb(-CURRENCY_MINOR_UNITS[record_currency])
                vat = min((vat * record_amount / amount).quantize(quantum), record_amount)

        if not debit:
            if letter:
                waiting_credit_notes.append((len(records), (account, letter)))
            append(
                InvoiceRecord(
                    Source(name, line),
                    credit_note_kind,
                    buyer,
                    number,
                    issued,
                    issued,
                    None,
                    record_amount - vat,
                    vat,
                    record_currency,
                )
            )
            continue

        if letter:
            numbers = lettered.get((account, letter))
            if numbers is None:
                lettered[account, letter] = [number]
            elif number not in numbers:
                numbers.append(number)
        if amount != entry.customer_debit:  # several customer debits in this entry: instalments?
            merge_key = (fields[p_journal], fields[p_number], account, number, record_currency)
            earlier = merged.get(merge_key)
            if earlier is not None:
                first = records[earlier]
                assert isinstance(first, InvoiceRecord)
                records[earlier] = replace(
                    first,
                    amount_excl_vat=first.amount_excl_vat + record_amount - vat,
                    vat_amount=first.vat_amount + vat,
                )
                continue
            merged[merge_key] = len(records)
        append(
            InvoiceRecord(
                Source(name, line),
                invoice_kind,
                buyer,
                number,
                issued,
                issued,
                issued if bank else issued + terms,  # a reversed payment is due at once
                record_amount - vat,
                vat,
                record_currency,
            )
        )

    for index, source, buyer, received, paid, paid_currency, reference, letter_key in waiting_payments:
        invoices = tuple(lettered.get(letter_key, ()))
        records[index] = PaymentRecord(source, buyer, received, paid, paid_currency, reference, invoices)
    for index, letter_key in waiting_credit_notes:
        invoices = tuple(lettered.get(letter_key, ()))
        credit_note = records[index]
        if len(invoices) == 1 and isinstance(credit_note, InvoiceRecord):
            records[index] = replace(credit_note, invoice_reference=invoices[0])
    return [record for record in records if record is not None]


def parse_customer_mapping(data: bytes, name: str) -> dict[str, str]:
    """Read a customer mapping CSV: header ``account,identifier`` (``,`` or ``;``), one customer a line.

    ``identifier`` is a SIREN, SIRET or VAT number (its kind is told from its
    shape, its check digit verified); the result maps each account to the
    canonical identifier. Other columns (a name, say) are ignored. The first
    bad line raises :class:`~tradecover.domain.errors.InvalidInput` naming
    the file, line and field; so does an account mapped twice to different
    identifiers.
    """
    if len(data) > MAX_MAPPING_BYTES:
        raise file_problem(name, f"larger than {MAX_MAPPING_BYTES} bytes", "fec.mapping_too_large")
    text = decode_text(data, name, "cp1252", "fec.mapping")
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def bad(line: int, field: str | None, message: str, code: str) -> InvalidInput:
        where = f"{name}, line {line}" + (f", field {field}" if field else "")
        return InvalidInput(f"{where}: {message}", code=code, field=field, context={"file": name, "line": line})

    mapping: dict[str, str] = {}
    first_lines: dict[str, int] = {}
    try:
        header: list[str] | None = None
        while header is None:
            cells = next(reader, None)
            if cells is None:
                raise file_problem(name, "empty file, no header", "fec.mapping_missing_column", field="account")
            if any(cell.strip() for cell in cells):
                header = cells
        columns = [cell.strip().lstrip("\ufeff").strip().casefold() for cell in header]
        for column in ("account", "identifier"):
            if column not in columns:
                raise bad(reader.line_num, column, f"missing column {column!r}", "fec.mapping_missing_column")
        p_account, p_identifier = columns.index("account"), columns.index("identifier")
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) <= max(p_account, p_identifier):
                raise bad(line, None, f"{len(cells)} fields, the header has {len(header)}", "fec.mapping_bad_line")
            account, raw = cells[p_account].strip(), cells[p_identifier].strip()
            if not account:
                raise bad(line, "account", "missing account", "fec.mapping_missing_field")
            if not raw:
                raise bad(line, "identifier", "missing identifier", "fec.mapping_missing_field")
            try:
                value = detect_identifier(raw).value
            except InvalidInput as error:
                raise bad(line, "identifier", error.message, "fec.mapping_invalid_identifier") from None
            if mapping.get(account, value) != value:
                raise bad(
                    line,
                    "account",
                    f"account {account!r} already mapped to {mapping[account]} on line {first_lines[account]}",
                    "fec.mapping_duplicate",
                )
            mapping[account] = value
            first_lines.setdefault(account, line)
    except csv.Error as error:
        raise bad(reader.line_num, None, f"unreadable CSV ({error})", "fec.mapping_bad_line") from None
    return mapping

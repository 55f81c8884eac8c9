"""Coverage-guided fuzzing of the ledger parsers (ledger CSV, FEC, customer mapping) with atheris.

The property is the one ``tests/unit/ingest/test_ledger_parsers_fuzz.py``
checks with Hypothesis on every test run: whatever the bytes, a parser
returns its result or raises ``InvalidInput`` — any other exception is a bug.
This module is for longer runs on demand; it is not a test module (pytest
does not collect it) and atheris is not a project dependency::

    pip install atheris
    python fuzz/fuzz_ledger_parsers.py -max_total_time=600
    # keep and grow a corpus between runs:
    python fuzz/fuzz_ledger_parsers.py fuzz/corpus/ -max_total_time=3600

A crash writes ``crash-<sha1>`` in the current directory; replay it with
``python fuzz/fuzz_ledger_parsers.py crash-<sha1>``.

The first input byte picks the parser and whether a valid header is put in
front of the rest, so that the fuzzer spends its time past the header checks.
"""

from __future__ import annotations

import sys

_FEC_HEADER = (
    b"JournalCode|JournalLib|EcritureNum|EcritureDate|CompteNum|CompteLib|CompAuxNum|CompAuxLib|PieceRef|"
    b"PieceDate|EcritureLib|Debit|Credit|EcritureLet|DateLet|ValidDate|Montantdevise|Idevise\n"
)
_CSV_HEADER = (
    b"record_type,siren,vat_number,customer_account,number,issue_date,due_date,amount_excl_vat,vat_amount,"
    b"currency,invoice,date,amount\n"
)
_MAPPING_HEADER = b"account,identifier\n"


def one_input(data: bytes) -> None:
    """Run one fuzz input through the parser its first byte selects."""
    from tradecover.domain.errors import InvalidInput
    from tradecover.ingest.fec import parse_customer_mapping, parse_fec
    from tradecover.ingest.ledger_csv import parse_ledger_csv

    if not data:
        return
    selector, body = data[0], data[1:]
    with_header = bool(selector & 0x80)
    target = selector % 3
    try:
        if target == 0:
            parse_fec((_FEC_HEADER if with_header else b"") + body, "fuzz.txt")
        elif target == 1:
            parse_ledger_csv((_CSV_HEADER if with_header else b"") + body, "fuzz.csv")
        else:
            parse_customer_mapping((_MAPPING_HEADER if with_header else b"") + body, "fuzz.csv")
    except InvalidInput:
        pass


def main() -> None:
    try:
        import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        sys.exit("atheris is not installed: pip install atheris (see this module's docstring)")
    with atheris.instrument_imports():
        import tradecover.ingest.fec
        import tradecover.ingest.ledger_csv  # noqa: F401
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

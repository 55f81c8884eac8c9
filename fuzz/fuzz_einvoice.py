"""Coverage-guided fuzzing of the e-invoice parser with atheris, for long runs on demand.

The contract under test: whatever the bytes, :func:`parse_einvoice` returns a
``LedgerFile`` or raises ``InvalidInput``; any other exception is a crash that
atheris reports with the input that caused it (``crash-<sha1>`` in the current
directory). The quick Hypothesis version runs with the unit tests
(``tests/unit/ingest/test_einvoice_fuzz.py``); this target is for hours, not
seconds. Not collected by pytest (its name does not start with ``test_``).

Run from the repository root, with a writable corpus seeded from the samples
(libFuzzer adds inputs to the first corpus directory: never point it at the
shared samples themselves)::

    .venv/bin/pip install atheris
    mkdir -p /tmp/einvoice-corpus && cp ../shared/data/external/einvoice/*.xml /tmp/einvoice-corpus/
    .venv/bin/python fuzz/fuzz_einvoice.py -max_total_time=600 /tmp/einvoice-corpus

Useful libFuzzer flags: ``-max_len=200000`` (the samples are up to 70 kB),
``-rss_limit_mb=2048``, ``-timeout=10`` (seconds per input: reports hangs),
``-jobs=4 -workers=4``. Reproduce a crash with
``.venv/bin/python fuzz/fuzz_einvoice.py crash-<sha1>``.
"""

from __future__ import annotations

import logging
import sys

from tradecover.domain.errors import InvalidInput
from tradecover.ingest.einvoice import parse_einvoice


def fuzz_one_input(data: bytes) -> None:
    """One input: a ledger file or InvalidInput, nothing else."""
    try:
        ledger = parse_einvoice(data, "fuzz.bin")
    except InvalidInput as error:
        if not error.code.startswith("einvoice."):
            raise AssertionError(f"unexpected error code {error.code!r}") from error
        return
    if len(ledger.records) > 1:
        raise AssertionError("one e-invoice gave more than one record")


def main() -> None:
    import atheris  # type: ignore[import-not-found,import-untyped,unused-ignore]
    import pypdf  # noqa: F401  (loaded now so that its PDF parsing is instrumented too)

    logging.disable(logging.CRITICAL)  # pypdf logs every oddity of a mutated PDF
    atheris.instrument_all()  # coverage feedback from every loaded module: parser, defusedxml, pypdf
    atheris.Setup(sys.argv, fuzz_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

"""Book files for the portfolio loss model: CSV and Parquet, French spreadsheets, every problem located."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tradecover.domain.errors import InvalidInput
from tradecover.ingest.portfolio_book import (
    MAX_REPORTED_PROBLEMS,
    BookFileError,
    BookProblem,
    read_book,
    write_book,
)
from tradecover.risk.book_generator import generate_book
from tradecover.risk.portfolio_book import PortfolioBook

HEADER = "obligor_id,ead,pd,lgd,sector,country"
GOOD_LINES = [
    "B1,1000,0.01,0.45,S02,FR",
    "B2,2500.5,0.2,0.6,S01,DE",
    "B3,0,0,1,S02,FR",
]


def write(tmp_path: Path, text: str, name: str = "book.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def book_csv(tmp_path: Path, *lines: str, header: str = HEADER, name: str = "book.csv") -> Path:
    return write(tmp_path, "\n".join([header, *lines]) + "\n", name)


def failure(path: Path, **limits: int) -> BookFileError:
    with pytest.raises(BookFileError) as caught:
        read_book(path, **limits)
    return caught.value


def where(error: BookFileError) -> list[tuple[int | None, str | None]]:
    return [(problem.line, problem.column) for problem in error.problems]


def assert_same(read: PortfolioBook, book: PortfolioBook) -> None:
    assert read.obligor_id == book.obligor_id
    assert read.sectors == book.sectors
    assert read.countries == book.countries
    for name in ("ead", "pd", "lgd", "sector", "country"):
        np.testing.assert_array_equal(getattr(read, name), getattr(book, name), err_msg=name)


# -- good files ------------------------------------------------------------------------------------


def test_csv_book_is_read_into_arrays_with_sorted_codes(tmp_path: Path) -> None:
    book = read_book(book_csv(tmp_path, *GOOD_LINES))
    assert book.obligor_id == ("B1", "B2", "B3")
    assert book.ead.tolist() == [1000.0, 2500.5, 0.0]
    assert book.pd.tolist() == [0.01, 0.2, 0.0]
    assert book.lgd.tolist() == [0.45, 0.6, 1.0]
    assert book.sectors == ("S01", "S02")
    assert book.sector.tolist() == [1, 0, 1]
    assert book.countries == ("DE", "FR")
    assert book.country.tolist() == [1, 0, 1]
    assert book.ead.dtype == np.float64
    assert book.sector.dtype == np.int64


def test_semicolons_bom_decimal_commas_crlf_and_loose_header(tmp_path: Path) -> None:
    text = (
        "\ufeffCountry ; SECTOR;Obligor_ID; EAD ;PD;LGD;comment\r\n"
        " FR ; S01 ; B1 ; 1000,5 ; 0,02 ; 0.45 ;first, with a comma\r\n"
        "DE;S02;B2;2000;0,1;0,6;\r\n"
    )
    book = read_book(write(tmp_path, text))
    assert book.obligor_id == ("B1", "B2")
    assert book.ead.tolist() == [1000.5, 2000.0]
    assert book.pd.tolist() == [0.02, 0.1]
    assert book.lgd.tolist() == [0.45, 0.6]
    assert book.countries == ("DE", "FR")
    assert book.sectors == ("S01", "S02")


def test_blank_lines_are_skipped_and_later_lines_keep_their_numbers(tmp_path: Path) -> None:
    path = book_csv(tmp_path, "B1,1000,0.01,0.45,S01,FR", "", ",,,,,", "   ", "B2,1000,1.5,0.45,S01,FR", "")
    error = failure(path)
    assert where(error) == [(6, "pd")]
    assert read_book(book_csv(tmp_path, GOOD_LINES[0], "", GOOD_LINES[1])).obligor_id == ("B1", "B2")


def test_quoted_values_may_hold_separators_and_line_breaks(tmp_path: Path) -> None:
    path = book_csv(tmp_path, '"B,1",1000,0.01,0.45,"S 1",FR', '"B\n2",1000,0.01,0.45,S2,FR', "B3,1000,2,0.45,S2,FR")
    error = failure(path)
    assert str(error) == "book.csv line 5, column pd: 2 is outside [0, 1]"
    book = read_book(book_csv(tmp_path, '"B,1",1000,0.01,0.45,"S 1",FR', '"B\n2",1000,0.01,0.45,S2,FR'))
    assert book.obligor_id == ("B,1", "B\n2")


def test_numbers_in_exponent_form_are_accepted(tmp_path: Path) -> None:
    book = read_book(book_csv(tmp_path, "B1,1.5e6,3E-4,.45,S01,FR"))
    assert (book.ead[0], book.pd[0], book.lgd[0]) == (1.5e6, 3e-4, 0.45)


# -- problems in cells -----------------------------------------------------------------------------


def test_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = book_csv(tmp_path, *GOOD_LINES[:2], "B7,1000,1.3,0.45,S01,FR")
    error = failure(path)
    assert str(error) == "book.csv line 4, column pd: 1.3 is outside [0, 1]"
    assert (error.path, error.line, error.column, error.message) == (path, 4, "pd", "1.3 is outside [0, 1]")
    assert error.problems == (BookProblem("book.csv", 4, "pd", "1.3 is outside [0, 1]"),)
    assert error.total == 1
    assert isinstance(error, ValueError)
    assert isinstance(error, InvalidInput)
    assert error.code == "portfolio_book.invalid"
    assert error.as_dict()["problems"] == ["book.csv line 4, column pd: 1.3 is outside [0, 1]"]


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        ("B9,1000,-0.01,0.45,S01,FR", "pd", "-0.01 is outside [0, 1]"),
        ("B9,1000,0.01,1.2,S01,FR", "lgd", "1.2 is outside [0, 1]"),
        ("B9,1000,0.01,-1,S01,FR", "lgd", "-1 is outside [0, 1]"),
        ("B9,-5,0.01,0.45,S01,FR", "ead", "-5 is negative: an exposure is ≥ 0"),
        ("B9,abc,0.01,0.45,S01,FR", "ead", "'abc' is not a number"),
        ("B9,1000,1%,0.45,S01,FR", "pd", "'1%' is not a number"),
        ("B9,NaN,0.01,0.45,S01,FR", "ead", "NaN is not a finite number"),
        ("B9,inf,0.01,0.45,S01,FR", "ead", "inf is not a finite number"),
        ("B9,1000,nan,0.45,S01,FR", "pd", "nan is not a finite number"),
        ("B9,1000,0.01,-inf,S01,FR", "lgd", "-inf is not a finite number"),
        ("B9,,0.01,0.45,S01,FR", "ead", "empty value"),
        ("B9,1000,  ,0.45,S01,FR", "pd", "empty value"),
        ("B9,1000,0.01,,S01,FR", "lgd", "empty value"),
        (" ,1000,0.01,0.45,S01,FR", "obligor_id", "empty value"),
        ("B9,1000,0.01,0.45,,FR", "sector", "empty value"),
        ("B9,1000,0.01,0.45,S01,", "country", "empty value"),
        ("B9,1000,0.01,0.45,S01", "country", "empty value"),  # a short line
    ],
)
def test_each_bad_cell_is_located(tmp_path: Path, line: str, column: str, message: str) -> None:
    error = failure(book_csv(tmp_path, *GOOD_LINES, line))
    assert error.problems == (BookProblem("book.csv", 5, column, message),)


def test_decimal_comma_shifted_line_is_refused_as_too_many_fields(tmp_path: Path) -> None:
    error = failure(book_csv(tmp_path, *GOOD_LINES, "B9,1000,0.01,0,45,S01,FR"))
    assert error.problems == (BookProblem("book.csv", 5, None, "7 fields, the header has 6"),)


def test_duplicate_obligor_names_first_occurrence(tmp_path: Path) -> None:
    error = failure(book_csv(tmp_path, *GOOD_LINES, " B2 ,1,0.01,0.45,S01,FR", "B1,1,0.01,0.45,S01,FR"))
    assert [str(problem) for problem in error.problems] == [
        "book.csv line 5, column obligor_id: duplicate obligor_id 'B2', first on line 3",
        "book.csv line 6, column obligor_id: duplicate obligor_id 'B1', first on line 2",
    ]


def test_several_problems_are_reported_in_file_order_and_capped(tmp_path: Path) -> None:
    lines = [f"C{i},-1,0.01,2,S01,FR" for i in range(30)]
    error = failure(book_csv(tmp_path, GOOD_LINES[0], "X,1,x,0.5,,FR", *lines))
    assert error.total == 2 + 60
    assert len(error.problems) == MAX_REPORTED_PROBLEMS
    assert where(error)[:4] == [(3, "pd"), (3, "sector"), (4, "ead"), (4, "lgd")]
    text = str(error).splitlines()
    assert text[0] == "book.csv line 3, column pd: 'x' is not a number"
    assert text[-1] == f"… and {62 - MAX_REPORTED_PROBLEMS} more problems"


def test_long_values_are_shortened_in_messages(tmp_path: Path) -> None:
    error = failure(book_csv(tmp_path, f"B1,{'9' * 100}x,0.01,0.45,S01,FR"))
    assert len(error.message) < 80
    assert error.message.endswith("…' is not a number")


# -- problems in the file as a whole ---------------------------------------------------------------


def test_missing_and_doubled_columns_are_all_named_on_line_1(tmp_path: Path) -> None:
    error = failure(book_csv(tmp_path, "B1,1,0.01,S01,FR,x", header="obligor_id,ead,pd,sector,country,PD"))
    assert where(error) == [(1, "pd"), (1, "lgd")]
    assert error.problems[0].message == "the column appears twice (header fields 3 and 6)"
    assert error.problems[1].message.startswith("missing column 'lgd' (the header has: 'obligor_id', 'ead'")


def test_header_required(tmp_path: Path) -> None:
    error = failure(write(tmp_path, "B1,1000,0.01,0.45,S01,FR\n"))
    assert len(error.problems) == 6
    assert {problem.line for problem in error.problems} == {1}


def test_empty_file_blank_header_and_header_only_are_refused(tmp_path: Path) -> None:
    assert failure(write(tmp_path, "")).message == "empty file: expected one line or row per obligor"
    assert where(failure(write(tmp_path, "\n\nB1,1,0.01,0.45,S01,FR\n"))) == [(1, None)]
    assert failure(write(tmp_path, HEADER + "\n")).message == "no data lines: expected one line per obligor"
    assert failure(write(tmp_path, HEADER + "\n\n,,,,,\n")).message == "no data lines: expected one line per obligor"


def test_too_big_file_and_too_many_rows(tmp_path: Path) -> None:
    path = book_csv(tmp_path, *GOOD_LINES)
    assert failure(path, max_bytes=50).message.startswith("file too big: ")
    assert failure(path, max_rows=2).message == "more than 2 data lines"
    assert read_book(path, max_rows=3).size == 3


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    error = failure(write(tmp_path, HEADER, name="book.xlsx"))
    assert str(error) == "book.xlsx: unknown book format '.xlsx': expected a .csv or .parquet file"
    assert failure(tmp_path / "absent.csv").message == "no such file"
    (tmp_path / "folder.csv").mkdir()
    assert failure(tmp_path / "folder.csv").message == "not a regular file"


def test_bad_utf8_is_located_by_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "book.csv"
    path.write_bytes(("\n".join([HEADER, *GOOD_LINES]) + "\n").encode() + "B4,1,0.01,0.45,Sé,FR\n".encode("cp1252"))
    error = failure(path)
    assert str(error) == "book.csv line 5, column sector: invalid UTF-8 byte 0xe9: save the file as UTF-8"


def test_bad_utf8_in_the_header(tmp_path: Path) -> None:
    error = failure(write(tmp_path, "obligor_id,ead,pd,lgd,sector,pays\xa0\n", encoding="cp1252"))
    assert (error.line, error.message) == (1, "invalid UTF-8 byte 0xa0: save the file as UTF-8")


def test_binary_and_utf16_files_are_refused(tmp_path: Path) -> None:
    error = failure(write(tmp_path, HEADER + "\n" + GOOD_LINES[0] + "\n", encoding="utf-16"))
    assert error.message == "not a text file (NUL bytes): expected a UTF-8 CSV file"
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 10)
    assert isinstance(failure(path), BookFileError)


def test_unterminated_quote_is_located(tmp_path: Path) -> None:
    error = failure(book_csv(tmp_path, *GOOD_LINES, '"B4,1,0.01,0.45,S01,FR', "B5,1,0.01,0.45,S01,FR"))
    assert error.line == 5
    assert error.column is None
    assert "quote" in error.message


def test_several_lines_with_too_many_fields(tmp_path: Path) -> None:
    error = failure(book_csv(tmp_path, "B1,1,0.01,0.45,S01,FR,x", GOOD_LINES[1], "B4,1,0.01,0.45,S01,FR,x,y"))
    assert [str(problem) for problem in error.problems] == [
        "book.csv line 2: 7 fields, the header has 6",
        "book.csv line 4: 8 fields, the header has 6",
    ]


# -- Parquet ---------------------------------------------------------------------------------------


def test_parquet_round_trip(tmp_path: Path) -> None:
    book = generate_book(2_000, seed=3)
    path = tmp_path / "book.parquet"
    write_book(book, path)
    assert_same(read_book(path), book)


def test_parquet_with_typed_columns_and_loose_names(tmp_path: Path) -> None:
    path = tmp_path / "book.parquet"
    pl.DataFrame(
        {
            " Obligor_Id": [101, 102],
            "EAD": [1000, 2000],
            "pd": pl.Series([0.01, 0.02], dtype=pl.Float32),
            "lgd": ["0.45", " 0.6 "],
            "sector": pl.Series(["S1", "S2"], dtype=pl.Categorical),
            "country": ["FR", "DE"],
            "extra": [True, False],
        }
    ).write_parquet(path)
    book = read_book(path)
    assert book.obligor_id == ("101", "102")
    assert book.ead.tolist() == [1000.0, 2000.0]
    assert book.pd.tolist() == pytest.approx([0.01, 0.02])
    assert book.lgd.tolist() == [0.45, 0.6]
    assert book.sectors == ("S1", "S2")


def test_parquet_problems_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "book.parquet"
    pl.DataFrame(
        {
            "obligor_id": ["B1", "B2", "B1", None],
            "ead": [1.0, None, 3.0, float("inf")],
            "pd": [0.01, 0.02, 1.5, 0.0],
            "lgd": [0.5, 0.5, 0.5, 0.5],
            "sector": ["S1", "S1", "S1", "S1"],
            "country": ["FR", "FR", "FR", "FR"],
        }
    ).write_parquet(path)
    assert [str(problem) for problem in failure(path).problems] == [
        "book.parquet row 2, column ead: empty value",
        "book.parquet row 3, column obligor_id: duplicate obligor_id 'B1', first on row 1",
        "book.parquet row 3, column pd: 1.5 is outside [0, 1]",
        "book.parquet row 4, column obligor_id: empty value",
        "book.parquet row 4, column ead: inf is not a finite number",
    ]


def test_parquet_wrong_types_missing_columns_and_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "book.parquet"
    columns = {"obligor_id": ["B1"], "ead": [1.0], "pd": [0.1], "lgd": [0.5], "sector": ["S"], "country": ["FR"]}
    pl.DataFrame({**columns, "pd": [True]}).write_parquet(path)
    assert str(failure(path)) == "book.parquet, column pd: the column holds Boolean values, expected numbers"
    pl.DataFrame({key: value for key, value in columns.items() if key != "lgd"}).write_parquet(path)
    assert where(failure(path)) == [(None, "lgd")]
    pl.DataFrame(columns).clear().write_parquet(path)
    assert failure(path).message == "no data rows: expected one row per obligor"
    pl.DataFrame(columns).write_parquet(path)
    assert failure(path, max_rows=0).message == "more than 0 rows (1)"


def test_unreadable_parquet(tmp_path: Path) -> None:
    path = tmp_path / "book.parquet"
    path.write_bytes(b"PAR1 this is not parquet at all PAR1")
    error = failure(path)
    assert error.line is None
    assert error.message.startswith("unreadable Parquet file")
    write(tmp_path, HEADER + "\n" + GOOD_LINES[0], name="text.parquet")
    assert failure(tmp_path / "text.parquet").message.startswith("unreadable Parquet file")


# -- writing ---------------------------------------------------------------------------------------


def test_generated_book_round_trips_through_csv(tmp_path: Path) -> None:
    book = generate_book(100_000, seed=11)
    path = tmp_path / "book.csv"
    write_book(book, path)
    assert path.read_text(encoding="utf-8").splitlines()[0] == HEADER
    assert_same(read_book(path), book)


def test_awkward_values_round_trip(tmp_path: Path) -> None:
    book = PortfolioBook.from_rows(
        obligor_id=["a,b", 'q"uote', "new\nline", "é"],
        ead=[0.1 + 0.2, 1e-300, 123456789.123456789, 0.0],
        pd=[1 / 3, 0.0, 1.0, 2**-40],
        lgd=[0.45, 1.0, 0.0, 0.6],
        sector=["S;1", "S2", "S2", "Ω"],
        country=["FR", "DE", "FR", "GB"],
    )
    for name in ("book.csv", "book.parquet"):
        write_book(book, tmp_path / name)
        assert_same(read_book(tmp_path / name), book)


def test_write_refuses_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(BookFileError, match="unknown book format"):
        write_book(generate_book(3), tmp_path / "book.txt")

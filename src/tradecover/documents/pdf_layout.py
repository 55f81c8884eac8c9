"""The shared layout of tradecover's PDF documents (fpdf2, A4, French or English).

Every document is an :class:`PdfDocument`: an A4 page with a header (document
title, reference, date), a footer ("tradecover" and "Page X/Y"), and helpers for
what letters and statements are made of — paragraphs, section headings, address
blocks, label/value lists and tables whose header row repeats on every page.

Three choices shape this module:

* **Core fonts only.** Helvetica needs no font file and keeps documents small,
  but it encodes latin-1 only. Every string is therefore passed through
  :func:`latin1_text` (typographic quotes and dashes become their ASCII forms,
  "€" becomes "EUR", accented letters outside latin-1 lose their accent, and
  anything else — Chinese, emoji — becomes "?"), so no name can make rendering
  fail. :meth:`PdfDocument.normalize_text` applies it to all text fpdf2 draws.
* **Deterministic bytes.** The creation date is the document's own date, never
  the clock, so the same view always renders to the same bytes (fpdf2 derives
  the file identifier from the content and that date).
* **Bounded hostile input.** Table cells and address blocks wrap long text and
  cut it, with "...", after a fixed number of lines, so a 300-character name
  cannot push a row beyond a page.

Number formats follow each language: French "12 345,67 EUR" (a no-break space
U+00A0 groups thousands: the narrow U+202F is not latin-1), English
"EUR 12,345.67".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from fpdf import FPDF

from tradecover.domain.errors import InvalidInput
from tradecover.domain.money import Money

__all__ = [
    "LANGUAGES",
    "MARGIN_X",
    "MUTED",
    "Cell",
    "Column",
    "Language",
    "Party",
    "PdfDocument",
    "Row",
    "check_language",
    "format_amount",
    "format_date",
    "format_number",
    "format_rate",
    "latin1_text",
    "one_line",
    "render_paginated",
]

Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")

NBSP = "\u00a0"

# ------------------------------------------------------------------ colours (RGB)
TEXT = (33, 37, 41)
MUTED = (108, 117, 125)
RULE = (206, 212, 218)
STRONG_RULE = (73, 80, 87)
HEADER_FILL = (233, 236, 239)
ACCENT = (31, 58, 96)

# ------------------------------------------------------------------ geometry (mm)
MARGIN_X = 20.0
HEADER_TOP = 10.0
HEADER_RULE_Y = 21.0
BODY_TOP = 28.0
FOOTER_FROM_BOTTOM = 15.0
BODY_BOTTOM_MARGIN = 22.0
PT = 0.3528  # one typographic point in millimetres
LINE_SPACING = 1.25
SECTION_HEADING_HEIGHT = 10.5

#: Lines a table cell, an address block or a note may take before it is cut.
MAX_CELL_LINES = 8
MAX_NOTE_LINES = 4
MAX_BLOCK_LINES = 6


@dataclass(frozen=True)
class Party:
    """A person or company as a document names it.

    ``identifier`` (a SIREN or VAT number) is printed under the name.
    """

    name: str
    address_lines: tuple[str, ...] = ()
    identifier: str | None = None


# ---------------------------------------------------------------------- text


_REPLACEMENTS: dict[str, str] = {
    "€": "EUR",
    "‘": "'",
    "’": "'",
    "‚": "'",
    "‛": "'",
    "′": "'",
    "‹": "<",
    "›": ">",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "″": '"',
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "–": "-",
    "—": "-",
    "―": "-",
    "−": "-",
    "…": "...",
    "≥": ">=",
    "≤": "<=",
    "≠": "!=",
    "≈": "~",
    "→": "->",
    "←": "<-",
    "⇒": "=>",
    "∑": "sum ",
    "‰": " per mille",
    "•": "-",
    "·": "\u00b7",
    "œ": "oe",
    "Œ": "OE",
    "ł": "l",  # letters with a stroke have no decomposition to strip
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ħ": "h",
    "Ħ": "H",
    "ı": "i",
    "\u202f": NBSP,  # narrow no-break space
    "\u2007": NBSP,  # figure space
    "\u2009": " ",  # thin space
    "\u2002": " ",
    "\u2003": " ",
    "\u200a": " ",
    "\t": " ",
    "\r": "",
    "\u2028": "\n",
    "\u2029": "\n",
}


def latin1_text(text: str) -> str:
    """``text`` reduced to what the core fonts can draw (latin-1), never failing.

    Latin-1 letters are kept; typographic quotes, dashes and spaces become
    their plain forms, "€" "EUR" and "œ" "oe"; letters with an accent outside
    latin-1 lose it ("č" → "c"); invisible format characters (zero-width
    joiners, variation selectors) are dropped; control characters other than
    the newline and anything else (Chinese, emoji) become "?".
    """
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
            continue
        code = ord(char)
        if char == "\n" or (0x20 <= code < 0x7F) or (0xA0 <= code <= 0xFF):
            out.append(char)
            continue
        category = unicodedata.category(char)
        if category in ("Mn", "Me", "Cf"):
            continue  # combining mark left alone, zero-width joiner, variation selector
        if category.startswith("Z"):
            out.append(" ")
            continue
        if category != "Cc":
            decomposed = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.category(c).startswith("M")
            )
            if decomposed and all(0x20 <= ord(c) < 0x7F or 0xA0 <= ord(c) <= 0xFF for c in decomposed):
                out.append(decomposed)
                continue
        out.append("?")
    return "".join(out)


def one_line(text: str) -> str:
    """``text`` on one line: newlines and runs of spaces collapse to one space."""
    return " ".join(latin1_text(text).split())


def check_language(language: str) -> Language:
    """Return ``language`` if it is one tradecover writes documents in, else raise."""
    if language == "fr":
        return "fr"
    if language == "en":
        return "en"
    raise InvalidInput(
        f"documents are written in French or English, not {language!r}",
        code="documents.unknown_language",
        field="language",
        context={"language": language},
    )


# ------------------------------------------------------------------- numbers


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(groups)


def format_number(value: Decimal, language: Language, places: int = 2) -> str:
    """``value`` rounded half-up to ``places`` decimals, grouped per ``language``.

    French ``12 345,67`` (no-break space, decimal comma), English ``12,345.67``.
    """
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded.is_zero():
        rounded = rounded.copy_abs()
    text = format(rounded, "f")
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    if language == "fr":
        body = _group(whole, NBSP) + ("," + fraction if fraction else "")
    else:
        body = _group(whole, ",") + ("." + fraction if fraction else "")
    return sign + body


def format_amount(money: Money, language: Language, *, with_currency: bool = True) -> str:
    """An amount as a reader of ``language`` expects it, rounded to the currency's minor unit.

    French ``12 345,67 EUR``, English ``EUR 12,345.67``; the spaces are no-break
    spaces (U+00A0) so that an amount never wraps. ``with_currency=False``
    gives the number alone, for table columns whose heading names the currency.
    """
    number = format_number(money.round().amount, language, money.minor_units)
    if not with_currency:
        return number
    return f"{number}{NBSP}{money.currency}" if language == "fr" else f"{money.currency}{NBSP}{number}"


def format_rate(rate: Decimal, language: Language) -> str:
    """A fraction as a percentage: ``Decimal("0.1215")`` → ``12,15 %`` / ``12.15%``.

    At least two decimals, up to four when the rate has them.
    """
    percent = rate * 100
    exponent = percent.normalize().as_tuple().exponent
    places = min(4, max(2, -exponent if isinstance(exponent, int) else 2))
    number = format_number(percent, language, places)
    return f"{number}{NBSP}%" if language == "fr" else f"{number}%"


_MONTHS: dict[Language, tuple[str, ...]] = {
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def format_date(day: date, language: Language, *, short: bool = False) -> str:
    """A date in words: ``5 décembre 2026`` (``1er`` for the first) / ``5 December 2026``.

    ``short=True`` gives the table form: ``05/12/2026`` / ``5 Dec 2026``.
    """
    if language == "fr":
        if short:
            return f"{day.day:02d}/{day.month:02d}/{day.year}"
        first = "1er" if day.day == 1 else str(day.day)
        return f"{first} {_MONTHS['fr'][day.month - 1]} {day.year}"
    month = _MONTHS["en"][day.month - 1]
    return f"{day.day} {month[:3] if short else month} {day.year}"


# -------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    """A table column: its heading, its share of the table's width, its alignment."""

    heading: str
    weight: float
    align: Literal["L", "C", "R"] = "L"


@dataclass(frozen=True)
class Cell:
    """A table cell with an optional note printed small and grey under its text."""

    text: str
    note: str | None = None


@dataclass(frozen=True)
class Row:
    """A table row; ``bold`` rows (totals) also get a dark rule above them."""

    cells: tuple[str | Cell, ...]
    bold: bool = False


@dataclass(frozen=True)
class _CellLayout:
    lines: list[str]
    note_lines: list[str]


class PdfDocument(FPDF):
    """An A4 document with tradecover's header, footer and layout helpers.

    ``title`` and ``reference`` head every page, with ``document_date`` which
    is also the PDF's creation date (never the clock: rendering is
    deterministic). Text drawn through fpdf2 is reduced to latin-1 by
    :func:`latin1_text`.

    The footer's "Page X/Y" needs ``total_pages``: build the document through
    :func:`render_paginated`, which lays it out once to count its pages. (fpdf2's
    own page-count alias reserves the width of "{nb}" and leaves a gap in
    right-aligned text.)
    """

    def __init__(
        self,
        *,
        title: str,
        reference: str,
        document_date: date,
        language: Language,
        total_pages: int | None = None,
    ) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.language: Language = check_language(language)
        self.document_title = one_line(title)
        self.reference = one_line(reference)
        self.document_date = document_date
        self.total_pages = total_pages
        self._widths: dict[tuple[str, str, float, str], float] = {}
        self.set_margins(MARGIN_X, BODY_TOP, MARGIN_X)
        self.set_auto_page_break(True, margin=BODY_BOTTOM_MARGIN)
        self.set_title(f"{title} - {reference}")
        self.set_subject(title)
        self.set_author("tradecover")
        self.set_creator("tradecover")
        self.set_lang("fr-FR" if language == "fr" else "en-GB")
        self.set_creation_date(datetime.combine(document_date, time(0, 0), tzinfo=UTC))
        self.set_text_color(*TEXT)
        self.set_draw_color(*RULE)
        self.set_font("helvetica", size=10)

    # ------------------------------------------------------------ fpdf2 hooks

    def normalize_text(self, text: str) -> str:
        """Reduce ``text`` to latin-1 before fpdf2 encodes it: never raises on a character."""
        return super().normalize_text(latin1_text(text))

    def header(self) -> None:
        right_width = 62.0
        self.set_xy(self.l_margin, HEADER_TOP)
        self.set_font("helvetica", "B", 12)
        self.set_text_color(*ACCENT)
        title_width = self.epw - right_width - 4
        self.cell(title_width, 6, self.fit(self.document_title, title_width))
        self.set_font("helvetica", "", 8)
        self.set_text_color(*MUTED)
        reference_label = "Réf. : " if self.language == "fr" else "Ref.: "
        self.set_xy(self.w - self.r_margin - right_width, HEADER_TOP)
        self.cell(right_width, 4, self.fit(reference_label + self.reference, right_width), align="R")
        self.set_xy(self.w - self.r_margin - right_width, HEADER_TOP + 4.2)
        self.cell(right_width, 4, format_date(self.document_date, self.language), align="R")
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.line(self.l_margin, HEADER_RULE_Y, self.w - self.r_margin, HEADER_RULE_Y)
        self.set_text_color(*TEXT)
        self.set_font("helvetica", size=10)
        self.set_xy(self.l_margin, BODY_TOP)

    def footer(self) -> None:
        y = self.h - FOOTER_FROM_BOTTOM
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.line(self.l_margin, y, self.w - self.r_margin, y)
        self.set_font("helvetica", "", 7.5)
        self.set_text_color(*MUTED)
        third = self.epw / 3
        self.set_xy(self.l_margin, y + 1.5)
        self.cell(third, 4, "tradecover")
        self.cell(third, 4, self.fit(self.reference, third), align="C")
        total = "?" if self.total_pages is None else str(self.total_pages)
        self.cell(third, 4, f"Page {self.page_no()}/{total}", align="R")
        self.set_text_color(*TEXT)

    # ------------------------------------------------------------------ text

    def line_height(self, size: float | None = None) -> float:
        """The height of one line of text at ``size`` points (default: current size)."""
        return (size if size is not None else self.font_size_pt) * PT * LINE_SPACING

    def _width(self, text: str) -> float:
        """Width of latin-1 ``text`` in the current font, memoised (fpdf2 measures slowly)."""
        key = (self.font_family, self.font_style, self.font_size_pt, text)
        width = self._widths.get(key)
        if width is None:
            width = self._widths[key] = self.get_string_width(text, normalized=True)
        return width

    def _cut(self, text: str, room: float, suffix: str = "") -> str:
        """The longest prefix of ``text`` that fits ``room`` mm with ``suffix`` appended (binary search)."""
        low, high = 0, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if self._width(text[:middle] + suffix) <= room:
                low = middle
            else:
                high = middle - 1
        return text[:low]

    def fit(self, text: str, width: float) -> str:
        """``text`` on one line, cut with "..." if it is wider than ``width`` mm."""
        text = one_line(text)
        room = width - 2 * self.c_margin
        if self._width(text) <= room:
            return text
        return self._cut(text, room, "...").rstrip() + "..."

    def wrap(self, text: str, width: float, max_lines: int | None = None) -> list[str]:
        """``text`` broken at spaces into lines that fit a ``width`` mm cell in the current font.

        Newlines are kept; words longer than the width are split; beyond
        ``max_lines`` the text is cut and its last line ends with "...".
        (fpdf2's own ``multi_cell`` line breaking is quadratic in the length
        of a paragraph: too slow for hostile input.)
        """
        room = max(width - 2 * self.c_margin, 1.0)
        space = self._width(" ")
        lines: list[str] = []
        limit = None if max_lines is None else max_lines + 1  # one more line tells that text was cut
        for paragraph in latin1_text(text).split("\n"):
            line, line_width = "", 0.0
            for word in paragraph.split(" "):
                word_width = self._width(word)
                if line and line_width + space + word_width <= room:
                    line, line_width = f"{line} {word}", line_width + space + word_width
                    continue
                if line:
                    lines.append(line)
                while word_width > room:
                    head = self._cut(word, room) or word[0]
                    lines.append(head)
                    word = word[len(head) :]
                    word_width = self._width(word)
                    if limit is not None and len(lines) >= limit:
                        break
                line, line_width = word, word_width
                if limit is not None and len(lines) >= limit:
                    break
            lines.append(line)
            if limit is not None and len(lines) >= limit:
                break
        if max_lines is not None and len(lines) > max_lines:
            lines = lines[:max_lines]
            last = lines[-1].rstrip()
            lines[-1] = last + "..." if self._width(last + "...") <= room else self._cut(last, room, "...") + "..."
        return lines

    def ensure_space(self, height: float) -> None:
        """Start a new page unless ``height`` mm still fit above the bottom margin."""
        if self.y + height > self.page_break_trigger:
            self.add_page()

    def paragraph(
        self,
        text: str,
        *,
        size: float = 9.5,
        style: Literal["", "B", "I", "BI"] = "",
        align: Literal["L", "J", "R", "C"] = "J",
        space_after: float = 2.5,
        color: tuple[int, int, int] = TEXT,
    ) -> None:
        """A paragraph across the text width; long ones flow onto the next page."""
        self.set_font("helvetica", style, size)
        self.set_text_color(*color)
        self.ensure_space(self.line_height() * 2)
        self.set_x(self.l_margin)
        self.multi_cell(0, self.line_height(), latin1_text(text), align=align, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*TEXT)
        self.ln(space_after)

    def section_heading(self, text: str, *, keep_with: float = 20) -> None:
        """A section title with a rule under it, kept with ``keep_with`` mm of what follows."""
        self.ensure_space(SECTION_HEADING_HEIGHT + keep_with)
        self.ln(2)
        self.set_font("helvetica", "B", 10.5)
        self.set_text_color(*ACCENT)
        self.set_x(self.l_margin)
        self.cell(self.epw, 6, self.fit(text, self.epw), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.3)
        self.line(self.l_margin, self.y, self.l_margin + self.epw, self.y)
        self.set_draw_color(*RULE)
        self.set_text_color(*TEXT)
        self.ln(2.5)

    def party_block(
        self,
        party: Party,
        *,
        x: float,
        y: float,
        width: float,
        caption: str | None = None,
        extra_lines: Sequence[str] = (),
    ) -> float:
        """A name-and-address block at (``x``, ``y``); returns the y under it.

        The name is bold, the identifier under it, then the address lines; an
        optional ``caption`` (grey, small) comes first and ``extra_lines``
        (italic) last.
        """
        self.set_xy(x, y)
        if caption:
            self.set_font("helvetica", "", 7.5)
            self.set_text_color(*MUTED)
            self.set_x(x)
            self.cell(width, 4, self.fit(caption.upper(), width), new_x="LEFT", new_y="NEXT")
        self.set_text_color(*TEXT)
        self.set_font("helvetica", "B", 10)
        self._lines_at(x, width, self.wrap(one_line(party.name), width, MAX_BLOCK_LINES))
        self.set_font("helvetica", "", 9.5)
        if party.identifier:
            self.set_text_color(*MUTED)
            self._lines_at(x, width, self.wrap(one_line(party.identifier), width, 2))
            self.set_text_color(*TEXT)
        for address_line in party.address_lines[:MAX_BLOCK_LINES]:
            self._lines_at(x, width, self.wrap(one_line(address_line), width, 2))
        if extra_lines:
            self.set_font("helvetica", "I", 9)
            for extra in extra_lines:
                self._lines_at(x, width, self.wrap(one_line(extra), width, 3))
        self.set_font("helvetica", size=10)
        return self.y

    def _lines_at(self, x: float, width: float, lines: Sequence[str]) -> None:
        for text in lines:
            self.set_x(x)
            self.cell(width, self.line_height(), text, new_x="LEFT", new_y="NEXT")

    def label_values(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        label_width: float = 45,
        size: float = 9.5,
        x: float | None = None,
        width: float | None = None,
    ) -> float:
        """A list of "label  value" lines from the current y; values wrap in their column.

        ``x`` and ``width`` place the list in a column of the page (default: the
        whole text width); returns the y under the list.
        """
        left = self.l_margin if x is None else x
        value_width = (self.w - self.r_margin - left if width is None else width) - label_width
        line_height = self.line_height(size)
        for label, value in pairs:
            self.set_font("helvetica", "", size)
            lines = self.wrap(one_line(value), value_width, MAX_BLOCK_LINES)
            self.ensure_space(line_height * len(lines) + 1)
            top = self.y
            self.set_text_color(*MUTED)
            self.set_xy(left, top)
            self.cell(label_width, line_height, self.fit(label, label_width))
            self.set_text_color(*TEXT)
            self.set_xy(left + label_width, top)
            self._lines_at(left + label_width, value_width, lines)
            self.set_xy(left, top + line_height * len(lines) + 0.8)
        self.set_x(self.l_margin)
        return self.y

    # ---------------------------------------------------------------- tables

    def data_table(
        self,
        columns: Sequence[Column],
        rows: Sequence[Row],
        *,
        size: float = 8,
        x: float | None = None,
        width: float | None = None,
        show_heading: bool = True,
        padding: float = 1.3,
        keep_together: bool = False,
        title: str | None = None,
    ) -> None:
        """A table from the current position; its heading row repeats on each new page.

        Cells wrap within their column (cut with "..." after a few lines),
        amounts are right-aligned through their column's ``align``, and a row
        is never split across pages. ``title`` draws a :meth:`section_heading`
        kept on the page of the table's first row; ``keep_together`` moves a
        table that fits on one page to the next page rather than splitting it.
        """
        left = self.l_margin if x is None else x
        total_width = (self.w - self.r_margin - left) if width is None else width
        weight_sum = sum(column.weight for column in columns)
        widths = [total_width * column.weight / weight_sum for column in columns]
        note_size = size - 1.3
        heading_layout = [
            _CellLayout(self._wrap_cell(c.heading, w, size, "B", 3), []) for c, w in zip(columns, widths, strict=True)
        ]
        heading_height = self._row_height(heading_layout, size, note_size, padding) if show_heading else 0.0
        layouts: list[tuple[Row, list[_CellLayout], float]] = []
        for row in rows:
            style: Literal["", "B"] = "B" if row.bold else ""
            layout = [
                self._layout_cell(cell, w, size, note_size, style) for cell, w in zip(row.cells, widths, strict=True)
            ]
            layouts.append((row, layout, self._row_height(layout, size, note_size, padding)))

        def draw_heading() -> None:
            if not show_heading:
                return
            self.set_fill_color(*HEADER_FILL)
            self.rect(left, self.y, total_width, heading_height, style="F")
            self._draw_row(left, widths, columns, heading_layout, size, note_size, padding, "B", heading_height)
            self.set_draw_color(*STRONG_RULE)
            self.set_line_width(0.3)
            self.line(left, self.y, left + total_width, self.y)

        title_height = SECTION_HEADING_HEIGHT if title else 0.0
        whole = title_height + heading_height + sum(height for _, _, height in layouts)
        if keep_together and whole <= self.page_break_trigger - BODY_TOP:
            self.ensure_space(whole)
        else:
            self.ensure_space(title_height + heading_height + (layouts[0][2] if layouts else 0))
        if title:
            self.section_heading(title, keep_with=0)
        draw_heading()
        for row, layout, height in layouts:
            if self.y + height > self.page_break_trigger:
                self.add_page()
                draw_heading()
            top = self.y
            if row.bold:
                self.set_draw_color(*STRONG_RULE)
                self.set_line_width(0.3)
                self.line(left, top, left + total_width, top)
            self._draw_row(left, widths, columns, layout, size, note_size, padding, "B" if row.bold else "", height)
            self.set_draw_color(*RULE)
            self.set_line_width(0.2)
            self.line(left, self.y, left + total_width, self.y)
        self.set_font("helvetica", size=10)
        self.set_text_color(*TEXT)
        self.set_x(self.l_margin)

    def _wrap_cell(
        self, text: str, width: float, size: float, style: Literal["", "B", "I"], max_lines: int
    ) -> list[str]:
        self.set_font("helvetica", style, size)
        return self.wrap(text, width, max_lines)

    def _layout_cell(
        self, cell: str | Cell, width: float, size: float, note_size: float, style: Literal["", "B"]
    ) -> _CellLayout:
        text, note = (cell.text, cell.note) if isinstance(cell, Cell) else (cell, None)
        lines = self._wrap_cell(text, width, size, style, MAX_CELL_LINES)
        note_lines = self._wrap_cell(note, width, note_size, "", MAX_NOTE_LINES) if note else []
        return _CellLayout(lines, note_lines)

    def _row_height(self, layout: Sequence[_CellLayout], size: float, note_size: float, padding: float) -> float:
        tallest = max(
            (len(cell.lines) * self.line_height(size) + len(cell.note_lines) * self.line_height(note_size))
            for cell in layout
        )
        return tallest + 2 * padding

    def _draw_row(
        self,
        left: float,
        widths: Sequence[float],
        columns: Sequence[Column],
        layout: Sequence[_CellLayout],
        size: float,
        note_size: float,
        padding: float,
        style: Literal["", "B"],
        height: float,
    ) -> None:
        top = self.y
        x = left
        for cell, width, column in zip(layout, widths, columns, strict=True):
            self.set_xy(x, top + padding)
            self.set_font("helvetica", style, size)
            self.set_text_color(*TEXT)
            for text in cell.lines:
                self.set_x(x)
                self.cell(width, self.line_height(size), text, align=column.align, new_x="LEFT", new_y="NEXT")
            if cell.note_lines:
                self.set_font("helvetica", "", note_size)
                self.set_text_color(*MUTED)
                for text in cell.note_lines:
                    self.set_x(x)
                    self.cell(width, self.line_height(note_size), text, align=column.align, new_x="LEFT", new_y="NEXT")
            x += width
        self.set_text_color(*TEXT)
        self.set_xy(left, top + height)

    # ---------------------------------------------------------------- output

    def render(self) -> bytes:
        """The finished document's bytes."""
        return bytes(self.output())


def render_paginated(build: Callable[[int | None], PdfDocument]) -> bytes:
    """Lay out a document twice: once to count its pages, then with "Page X/Y" filled in.

    ``build(total_pages)`` must create a :class:`PdfDocument` with that
    ``total_pages`` and draw the whole content; the footer does not change the
    layout, so both passes break pages at the same places.
    """
    draft = build(None)

    return build(draft.pages_count).render()

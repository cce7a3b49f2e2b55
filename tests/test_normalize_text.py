"""Text pages: 80 columns × 66 lines, tabs, form feeds, wrapping, fallback fonts."""

from __future__ import annotations

import pytest

import faxpipe
from faxpipe.errors import DocumentError
from faxpipe.normalize import fonts, text


def lines_of(data: bytes) -> list[list[str]]:
    return text.layout(data, "t.txt").pages


def test_grid_is_80_by_66():
    assert lines_of(b"x" * 80 + b"\n") == [["x" * 80]]
    assert lines_of(b"x" * 81 + b"\n") == [["x" * 80, "x"]]
    pages = lines_of(b"line\n" * 67)
    assert [len(p) for p in pages] == [66, 1]


def test_tabs_form_feeds_and_line_ends():
    assert lines_of(b"a\tb\r\nab\tc\rd") == [["a       b", "ab      c", "d"]]
    assert lines_of(b"one\n\x0ctwo\x0c\x0c") == [["one"], ["two"]]
    assert lines_of(b"\x0c\x0cthree") == [[""], [""], ["three"]]


def test_nothing_to_print_is_zero_pages():
    assert lines_of(b" \n\t\n\x0c\n") == []
    assert len(faxpipe.convert([("blank.txt", b"\n\n\n")]).pages) == 0


def test_wide_characters_take_two_cells():
    assert lines_of(("中" * 41).encode()) == [["中" * 40, "中"]]


def test_fallback_font_draws_what_dejavu_lacks():
    found = fonts.fallback_for("a中", "t.txt")
    assert set(found) == {"中"} and "DejaVuSansMono" not in found["中"].path
    lay = text.layout("中文\n".encode(), "t.txt")
    image = text.render(lay.pages[0], lay.fallback)
    left = text.LEFT
    cell = image.crop((left, text.LINE_H, left + 2 * text.CELL_W, 2 * text.LINE_H + 10))
    assert cell.getextrema()[0] == 0          # ink where the character is


def test_characters_no_font_has_are_refused_by_name():
    with pytest.raises(DocumentError) as caught:
        faxpipe.validate([("odd.txt", "ok \ue001\U000f0001\n".encode())])
    assert caught.value.code == "fx_file_invalid"
    assert "odd.txt" in caught.value.reason and "U+E001" in caught.value.reason
    assert "U+F0001" in caught.value.reason


def test_text_page_is_crisp_and_sized():
    document = faxpipe.convert([("memo.txt", b"Hello fax\n" * 10)], "standard", "letter")
    page = document.pages[0]
    assert (page.width, page.height, page.yres) == (1728, 1078, 98)
    assert 0.001 < page.black_fraction() < 0.05
    assert document.sources[0].encoding == "utf-8"


def test_page_limit_is_checked_before_laying_out():
    with pytest.raises(DocumentError, match="long.txt: more than 10 pages of text"):
        faxpipe.validate([("long.txt", b"line\n" * 5000)], limits=faxpipe.Limits(max_pages=10))
    with pytest.raises(DocumentError, match="long.txt: .*16 pages, more than the 15 allowed"):
        faxpipe.validate([("long.txt", b"line\n" * 1000)], limits=faxpipe.Limits(max_pages=15))

"""Sniffing by content, the extension check, text decoding (api-contract.md)."""

from __future__ import annotations

import codecs

import pytest

from faxpipe.errors import DocumentError
from faxpipe.normalize import encoding, sniff


@pytest.mark.parametrize("data, kind", [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", sniff.JPEG),
    (b"II*\x00\x08\x00\x00\x00", sniff.TIFF),
    (b"MM\x00*\x00\x00\x00\x08", sniff.TIFF),
    (b"%PDF-1.7\n", sniff.PDF),
    (b"\r\n\r\n%PDF-1.4\n", sniff.PDF),          # junk before the header, as readers allow
    (b"plain words\n", sniff.TEXT),
    ("déjà".encode("cp1252"), sniff.TEXT),
    (codecs.BOM_UTF16_LE + "hi".encode("utf-16-le"), sniff.TEXT),
])
def test_kind_by_content(data, kind):
    assert sniff.kind_of(data) == kind
    assert sniff.sniff(data, "upload") == kind


@pytest.mark.parametrize("data, name, words", [
    (b"\xff\xd8\xff\xe0", "scan.pdf", "the name says a PDF document but the content is a JPEG image"),
    (b"%PDF-1.4\n", "letter.txt", "the content is a PDF document"),
    (b"\x89PNG\r\n\x1a\n....", "logo", "a PNG image, not a jpg, tif, pdf or txt file"),
    (b"PK\x03\x04....", "contract", "ZIP archive"),
    (b"words", "contract.docx", "a .docx file is not accepted"),
    (b"\x00\x01\x02\x03", "blob", "binary data"),
    (b"text with a NUL\x00 byte", "notes.txt", "binary data"),
])
def test_refusals_name_the_file(data, name, words):
    with pytest.raises(DocumentError) as caught:
        sniff.sniff(data, name)
    assert caught.value.code == "fx_file_invalid"
    assert caught.value.reason.startswith(name + ": ")
    assert words in caught.value.reason


def test_extension_case_and_dots():
    assert sniff.sniff(b"%PDF-1.4\n", "SCAN.PDF") == sniff.PDF
    assert sniff.sniff(b"hello", "report.final version") == sniff.TEXT


@pytest.mark.parametrize("raw, text, name", [
    (b"\xef\xbb\xbfbom", "bom", "utf-8-sig"),
    ("naïve".encode(), "naïve", "utf-8"),
    ("Ωmega".encode("utf-16"), "Ωmega", "utf-16"),
    ("Ωmega".encode("utf-16-be").join([codecs.BOM_UTF16_BE, b""]), "Ωmega", "utf-16"),
    ("“50 €”".encode("cp1252"), "“50 €”", "windows-1252"),
    (b"tab\tff\x0ccr\r\n", "tab\tff\x0ccr\r\n", "utf-8"),
])
def test_encodings(raw, text, name):
    assert encoding.decode(raw) == (text, name)


@pytest.mark.parametrize("raw", [b"\x00abc", b"abc\x07", b"\x81 undefined in cp1252", "x\u0085".encode()])
def test_binary_is_not_text(raw):
    assert encoding.decode(raw) is None

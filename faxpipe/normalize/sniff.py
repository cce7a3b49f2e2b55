"""What a file is, judged by its content (magic bytes); its extension must agree
(api-contract.md "File types are judged by content")."""

from __future__ import annotations

import os

from ..errors import DocumentError
from . import encoding

PDF, JPEG, TIFF, TEXT = "pdf", "jpeg", "tiff", "text"
NAMES = {PDF: "a PDF document", JPEG: "a JPEG image", TIFF: "a TIFF image", TEXT: "plain text"}
EXTENSIONS = {".pdf": PDF, ".jpg": JPEG, ".jpeg": JPEG, ".tif": TIFF, ".tiff": TIFF, ".txt": TEXT}

# Other formats people upload, named in the refusal so that the reason is one a person can act on.
_OTHER = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"GIF8", "a GIF image"), (b"BM", "a BMP image"),
    (b"PK\x03\x04", "a ZIP archive (Word / Excel / OpenDocument files are ZIP archives)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"), (b"%!PS", "a PostScript file"), (b"\x1f\x8b", "a gzip file"),
    (b"RIFF", "a RIFF file (WebP, WAV or AVI)"), (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 codestream"), (b"II\xbc", "a JPEG XR image"),
)
PDF_SEARCH = 1024  # PDF readers accept the header anywhere in the first kilobyte


def kind_of(data: bytes) -> str | None:
    """PDF, JPEG, TIFF or TEXT from the first bytes (and, for text, from all of them)."""
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return TIFF
    if b"%PDF-" in data[:PDF_SEARCH]:
        return PDF
    if any(data.startswith(magic) for magic, _ in _OTHER):
        return None
    return TEXT if encoding.decode(data) is not None else None


def sniff(data: bytes, name: str) -> str:
    """The kind of a non-empty file, or DocumentError (fx_file_invalid) naming it."""
    ext = os.path.splitext(name)[1].lower()
    claimed = EXTENSIONS.get(ext)
    if ext and claimed is None and _is_extension(ext):
        raise DocumentError(f"{name}: a {ext} file is not accepted; send jpg, tif, pdf or txt")
    kind = kind_of(data)
    if kind is None:
        what = next((label for magic, label in _OTHER if data.startswith(magic)), None)
        raise DocumentError(f"{name}: {what or 'binary data'}, not a jpg, tif, pdf or txt file")
    if claimed is not None and claimed != kind:
        raise DocumentError(f"{name}: the name says {NAMES[claimed]} but the content is {NAMES[kind]}")
    return kind


def _is_extension(ext: str) -> bool:
    """".docx" is an extension; "report.final version" has a dot but no extension to judge."""
    return 1 < len(ext) <= 6 and ext[1:].isalnum()

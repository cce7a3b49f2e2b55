"""faxpipe: documents to 1-bit fax pages, a fast G3/G4 codec, TIFF Class F, and fax modems."""

__version__ = "0.1.0"

from .errors import CodecError, DocumentError, FaxpipeError, ModemError, ProtocolError  # noqa: E402
from .page import Page, PaperSize, Resolution  # noqa: E402
from .normalize import Document, Header, Limits, SourceInfo, convert, validate  # noqa: E402

__all__ = [
    "__version__", "FaxpipeError", "DocumentError", "CodecError", "ProtocolError", "ModemError",
    "Page", "PaperSize", "Resolution",
    "convert", "validate", "Document", "SourceInfo", "Header", "Limits",
]

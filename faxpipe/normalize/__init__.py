"""The normalizer: jpg / tif / pdf / txt files to fax pages (issue 3 "Conversion").

``convert(sources, resolution="fine", paper="a4", *, renderer, header, halftone, limits)``
returns a :class:`Document`; ``validate(sources)`` does only the cheap checks;
:class:`Conversion` streams pages one at a time. Errors are
:class:`faxpipe.errors.DocumentError` with code ``fx_file_invalid`` and a reason naming the file.
"""

from .convert import HALFTONES, RENDERERS, Conversion, convert, validate
from .document import Document, PageStore, SourceInfo
from .header import Header
from .limits import Limits
from .source import Source

__all__ = ["convert", "validate", "Conversion", "Document", "PageStore", "SourceInfo", "Header",
           "Limits", "Source", "RENDERERS", "HALFTONES"]

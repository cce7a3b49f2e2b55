"""The result of a conversion: fax pages in order, and what each source contributed.

Pages are kept packed (about 0.5 MB for an A4 fine page) until they add up to
``PageStore.budget`` bytes; later pages are kept MMR-coded (T.6, tens of kilobytes each) and
decoded when asked for, so a 2,000-page document fits in bounded memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import codec
from ..page import Page, PaperSize, Resolution


@dataclass(frozen=True)
class SourceInfo:
    """One input: its name, kind (pdf, jpeg, tiff, text or empty), pages it gave, where they
    start in the document, and how it was read."""

    name: str
    kind: str
    pages: int
    first_page: int = 0
    encoding: str | None = None   # text files
    encrypted: bool = False       # PDFs opened with the empty user password
    repaired: bool = False        # damaged PDFs rewritten before rendering
    as_is: int = 0                # fax pages sent unchanged (no resampling)


class PageStore(Sequence):
    """A list of pages that stops holding them unpacked past ``budget`` bytes."""

    budget = 64 << 20

    def __init__(self):
        self._items: list = []   # Page, or (mmr bytes, width, height, xres, yres)
        self._held = 0

    def append(self, page: Page) -> None:
        if self._held + len(page.data) <= self.budget:
            self._items.append(page)
            self._held += len(page.data)
        else:
            self._items.append((codec.encode(page, "mmr"), page.width, page.height, page.xres, page.yres))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        item = self._items[index]
        if isinstance(item, Page):
            return item
        data, width, height, xres, yres = item
        return codec.decode(data, "mmr", width, height=height, xres=xres, yres=yres).page

    def __repr__(self) -> str:
        return f"PageStore({len(self)} pages)"


@dataclass
class Document:
    """Fax pages of every source, in order, at one paper size and resolution."""

    pages: PageStore = field(default_factory=PageStore)
    sources: list[SourceInfo] = field(default_factory=list)
    paper: PaperSize = PaperSize.A4
    resolution: Resolution = Resolution.FINE

    def __len__(self) -> int:
        return len(self.pages)

    def __iter__(self):
        return iter(self.pages)

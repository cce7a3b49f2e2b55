"""What the receiver can take: pages made to fit the parameters negotiated in phase B.

A sender must never send a page the receiver declared it cannot print (T.30 §5.3.6.2: the DCS
may only select what the DIS offered). :func:`fit_page` turns a page into one of the negotiated
width and vertical resolution:

* a **wider** page (B4 2048 or A3 2432 pels) for a receiver that only takes A4 (1728) is
  cropped when everything beyond 1728 pels is white, else **reduced** — scaled by 1728 / 2048 (or 1728 / 2432) in both directions, so the whole page
  stays on the paper, as HylaFAX's faxq re-images to the remote's capabilities; a narrower page
  is padded with white on the right;
* a **finer** page for a receiver without fine or superfine resolution has its rows merged by
  OR-ing pairs (or fours) of rows, so no black pel is lost (efax: "halves lines if the remote
  lacks fine"); or, when the caller can re-render the source document, ``rerender(resolution)``
  gives a fresh page at that resolution (sharper than merged rows); a coarser page repeats rows.

:func:`coding_order` measures which coding gives the fewest bits for a document (the sender's
preference passed to :func:`faxpipe.t30.frames.negotiate`).
"""

from __future__ import annotations

from .errors import CodecError
from .page import Page, Resolution

WIDTHS = (1728, 2048, 2432)   # A4 / B4 / A3 at 8 pels/mm (T.4 §2.2)


def reduce_width(page: Page, width: int) -> Page:
    """``page`` scaled down to ``width`` pels, rows scaled by the same factor (aspect kept).
    A box filter then a threshold that keeps thin strokes (a pel is black when ≥ 1/3 of its
    area was)."""
    from PIL import Image

    factor = width / page.width
    height = max(1, round(page.height * factor))
    grey = page.to_image("L").resize((width, height), Image.Resampling.BOX)
    bilevel = grey.point(lambda v: 255 if v > 170 else 0, mode="1")
    return Page.from_image(bilevel, xres=page.xres, yres=page.yres)


def pad_width(page: Page, width: int) -> Page:
    """``page`` at ``width`` pels: white added on the right, or (whole bytes only) cropped."""
    if width % 8 or page.width % 8:
        raise CodecError(f"cannot refit a {page.width}-pel page to {width} pels")
    src, dst = page.stride, width // 8
    keep = min(src, dst)
    rows = bytearray(dst * page.height)
    for y in range(page.height):
        rows[y * dst:y * dst + keep] = page.data[y * src:y * src + keep]
    return Page(width, page.height, bytes(rows), page.xres, page.yres)


def change_resolution(page: Page, resolution: Resolution) -> Page:
    """``page`` at another vertical resolution: finer → coarser ORs groups of rows (no black pel is
    lost), coarser → finer repeats rows."""
    have = page.resolution
    if have is resolution:
        return page if page.yres == resolution.ydpi else Page(page.width, page.height, page.data, page.xres,
                                                              float(resolution.ydpi))
    stride = page.stride
    finer = have.lines_per_mm > resolution.lines_per_mm
    ratio = round(have.lines_per_mm / resolution.lines_per_mm) if finer \
        else round(resolution.lines_per_mm / have.lines_per_mm)
    out = bytearray()
    if finer:
        for y in range(0, page.height, ratio):
            acc = 0
            for row in range(y, min(y + ratio, page.height)):
                acc |= int.from_bytes(page.data[row * stride:(row + 1) * stride], "big")
            out += acc.to_bytes(stride, "big")
    else:
        for y in range(page.height):
            out += page.data[y * stride:(y + 1) * stride] * ratio
    return Page(page.width, len(out) // stride if stride else 0, bytes(out), page.xres, float(resolution.ydpi))


def _right_is_white(page: Page, width: int) -> bool:
    """True when no black pel lies at or beyond column ``width`` (cropping then loses nothing)."""
    stride, keep = page.stride, width // 8
    return not any(any(page.data[y * stride + keep:(y + 1) * stride]) for y in range(page.height))


def fit_page(page: Page, width: int, resolution: Resolution, *, rerender=None) -> Page:
    """``page`` made printable by a receiver of ``width`` pels and ``resolution`` (module docstring).
    ``rerender``: optional ``f(resolution) -> Page`` converting the source document again."""
    if rerender is not None and page.resolution is not resolution:
        fresh = rerender(resolution)
        if fresh is not None:
            page = fresh
    if page.width > width and page.width in WIDTHS and width in WIDTHS and not _right_is_white(page, width):
        page = reduce_width(page, width)
    elif page.width != width:
        page = pad_width(page, width)
    return change_resolution(page, resolution)


def coding_order(pages, *, sample: int = 2) -> tuple[str, ...]:
    """The codings ordered by the bits they need for (the first ``sample`` of) ``pages``, fewest
    first — MMR, MR and MH measured with faxpipe.codec (performance.md: MMR < MR < MH on text,
    but not on every page)."""
    from . import codec

    sizes = {c: sum(len(codec.encode(p, c)) for p in list(pages)[:sample]) for c in ("mmr", "mr", "mh")}
    return tuple(sorted(sizes, key=lambda c: (sizes[c], ("mmr", "mr", "mh").index(c))))

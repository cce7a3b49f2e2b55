"""``faxpipe info FILE.tif``: what a TIFF-F file holds, page by page (RFC 2306 fields)."""

from __future__ import annotations

import json

from .. import tiff
from ..page import Resolution

_FILL_ORDER_NAMES = {1: "1 (MSB first)", 2: "2 (LSB first)"}
_T4_BITS = ((tiff.T4_2D, "2-D"), (tiff.T4_UNCOMPRESSED, "uncompressed mode"), (tiff.T4_FILL, "fill bits"))


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("info", help="describe every page of a TIFF fax file",
                                   description="Print size, resolution and coding of every page.")
    parser.add_argument("files", nargs="+", metavar="FILE.tif")
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.set_defaults(run=run)


def resolution_name(xres: float, yres: float) -> str:
    """standard / fine / superfine (T.4 §2.3) when within 5 % of 204 × 98/196/391 dpi."""
    nearest = Resolution.from_dpi(yres)
    if abs(xres - nearest.xdpi) <= 0.05 * nearest.xdpi and abs(yres - nearest.ydpi) <= 0.05 * nearest.ydpi:
        return nearest.name.lower()
    return "non-standard"


def t4_options_text(options: int) -> str:
    names = [name for bit, name in _T4_BITS if options & bit] or ["1-D"]
    return f"{options} ({', '.join(names)})"


def describe(page: tiff.TiffPage) -> dict:
    """The facts ``info`` prints about one page, as plain data."""
    p = page.page
    facts = {
        "width": p.width, "height": p.height, "xres": p.xres, "yres": p.yres,
        "resolution": resolution_name(p.xres, p.yres), "compression": page.compression,
        "compression_name": page.compression_name, "fill_order": page.fill_order,
        "photometric": tiff.PHOTOMETRIC_NAMES[page.photometric], "strips": page.strip_count,
        "rows_per_strip": page.rows_per_strip, "bytes": page.encoded_size,
        "page_number": list(page.page_number) if page.page_number else None,
        "bad_rows": page.bad_rows,
    }
    if page.compression == 3:
        facts["t4_options"] = page.t4_options
    if page.compression == 4:
        facts["t6_options"] = page.t6_options
    return facts


def _text(path: str, pages: list[tiff.TiffPage]) -> str:
    lines = [f"{path}: {len(pages)} page{'s' * (len(pages) != 1)}, byte order {pages[0].byte_order}"
             + (f", written by {pages[0].software}" if pages[0].software else "")]
    for n, page in enumerate(pages, 1):
        f = describe(page)
        coding = f"{f['compression_name']}"
        if "t4_options" in f:
            coding += f", T4Options {t4_options_text(f['t4_options'])}"
        lines.append(
            f"  page {n}: {f['width']}×{f['height']} pels, {f['xres']:g}×{f['yres']:g} dpi "
            f"({f['resolution']}), {coding}, FillOrder {_FILL_ORDER_NAMES[f['fill_order']]}, "
            f"{f['photometric']}, {f['strips']} strip{'s' * (f['strips'] != 1)} "
            f"of {f['rows_per_strip']} rows, {f['bytes']:,} bytes"
            + (f", {f['bad_rows']} bad rows" if f["bad_rows"] else "")
        )
    return "\n".join(lines)


def run(args) -> int:
    for path in args.files:
        pages = tiff.read(path)
        if args.json:
            print(json.dumps({"file": path, "byte_order": pages[0].byte_order,
                              "software": pages[0].software, "pages": [describe(p) for p in pages]}))
        else:
            print(_text(path, pages))
    return 0

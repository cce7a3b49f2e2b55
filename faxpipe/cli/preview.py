"""``faxpipe preview FILE.tif -o sheet.png``: a contact sheet of a fax file's pages."""

from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("preview", help="write the pages of a TIFF-F file as a contact sheet PNG")
    p.add_argument("file", help="a TIFF Class F file")
    p.add_argument("-o", "--output", required=True, help="the PNG to write")
    p.add_argument("--columns", type=int, default=4)
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import tiff
    from ..preview import contact_sheet

    pages = [tp.page for tp in tiff.read(args.file)]
    contact_sheet(pages, columns=args.columns).save(args.output)
    print(args.output)
    return 0

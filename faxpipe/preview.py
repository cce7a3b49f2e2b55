"""Contact sheets: fax pages as the recipient will see them.

Fax pels are not square (204 dpi across, 98/196/391 lines per inch down), so each page is scaled
to its physical aspect ratio before it is placed on the sheet.
"""

from __future__ import annotations

from .page import Page


def contact_sheet(pages: list[Page], *, columns: int = 4, thumb_width: int = 420, margin: int = 16):
    """A Pillow "L" image with the pages in rows of ``columns``, each ``thumb_width`` wide."""
    from PIL import Image, ImageDraw

    if not pages:
        raise ValueError("no pages to preview")
    thumbs = []
    for page in pages:
        height_in = page.height / page.yres
        width_in = page.width / page.xres
        size = (thumb_width, max(1, round(thumb_width * height_in / width_in)))
        thumbs.append(page.to_image("L").resize(size, Image.Resampling.BOX))
    columns = max(1, min(columns, len(thumbs)))
    cell_h = max(t.height for t in thumbs)
    rows = (len(thumbs) + columns - 1) // columns
    sheet = Image.new("L", (columns * (thumb_width + margin) + margin, rows * (cell_h + margin) + margin), 160)
    draw = ImageDraw.Draw(sheet)
    for i, thumb in enumerate(thumbs):
        x = margin + (i % columns) * (thumb_width + margin)
        y = margin + (i // columns) * (cell_h + margin)
        sheet.paste(thumb, (x, y))
        draw.rectangle((x - 1, y - 1, x + thumb.width, y + thumb.height), outline=0)
    return sheet

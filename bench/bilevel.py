"""What each bilevel method costs: conversion time and compressed bytes (MH / MR / MMR).

    python bench/bilevel.py [--res fine,standard] [--repeat N]

Pages (tests/greypages.py): ``text`` — dense 10.5 pt prose, anti-aliased as a renderer draws
it; ``photo`` — a smooth synthetic scene; ``chart`` — fixtures/pages/chart.tif (the demo's mixed
page: a title, line pairs, type sizes, grey steps, a gradient, ellipses) scaled to the page as
the normalizer does. ``auto`` decides per 32×32 tile, so on the chart it thresholds the text
and halftones the greys; its "tiles" column is the share of tiles it halftoned. Each is converted by every method of
faxpipe.bilevel (and Pillow's Floyd–Steinberg for comparison), encoded with faxpipe.codec (MR
with K from the resolution), and the MMR size is turned into seconds at V.17 14,400 bit/s.
Prints a Markdown table; times are medians in ms (Python call and ``tobytes`` included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

import greypages  # noqa: E402

from PIL import Image  # noqa: E402

from faxpipe import Page, bilevel, codec  # noqa: E402

CHART = os.path.join(ROOT, "fixtures", "pages", "chart.tif")

ROWS = {"fine": (2287, 196.0), "standard": (1143, 98.0)}
METHODS = (
    ("auto", {}), ("threshold (text level)", {"method": "threshold"}),
    ("threshold 128", {"method": "threshold", "level": 128}),
    ("ordered cluster", {"method": "ordered", "matrix": "cluster"}),
    ("ordered cluster45", {"method": "ordered", "matrix": "cluster45"}),
    ("ordered bayer", {"method": "ordered", "matrix": "bayer"}),
    ("diffusion (FS)", {"method": "diffusion"}),
)


def chart(rows: int) -> Image.Image:
    with Image.open(CHART) as image:
        return image.convert("L").resize((1728, rows), Image.Resampling.LANCZOS)


def pillow_fs(grey, yres):
    return Page.from_image(grey.convert("1"), 204, yres)


def median_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--res", default="fine,standard")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--pages", default="text,photo,chart")
    args = parser.parse_args()
    makers = {"text": greypages.text, "photo": greypages.photo, "chart": chart}
    print("| page | res | method | auto tiles halftoned | ms | black % | MH bytes | MR bytes | MMR bytes | MMR s at 14.4k |")
    print("|---|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for res in args.res.split(","):
        rows, yres = ROWS[res]
        for name in args.pages.split(","):
            grey = makers[name](rows)
            tiles = f"{100 * bilevel.analyse(grey).halftone_fraction:.0f} %"
            cases = [(label, lambda kw=kw: bilevel.to_page(grey, 204, yres, **kw)) for label, kw in METHODS]
            cases.append(("Pillow FS (reference)", lambda: pillow_fs(grey, yres)))
            for label, fn in cases:
                ms, page = median_ms(fn, args.repeat)
                sizes = [len(codec.encode(page, s)) for s in ("mh", "mr", "mmr")]
                share = tiles if label == "auto" else ""
                print(f"| {name} | {res} | {label} | {share} | {ms:.2f} | {100 * page.black_fraction():.1f} | "
                      + " | ".join(f"{n:,}" for n in sizes) + f" | {sizes[2] * 8 / 14400:.0f} |")


if __name__ == "__main__":
    main()

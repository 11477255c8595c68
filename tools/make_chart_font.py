"""Build labkit/fonts/LabkitSans-{Regular,Bold}.ttf, the font charts are measured with.

Why: vl-convert lays out chart text (title widths, legend boxes, concat offsets) with the
fonts it finds. Vega's default ``sans-serif`` resolves to the system's Liberation Sans when
Debian's fonts-liberation (1.07, pulled in by Chromium) is installed, and to vl-convert's
bundled 2.x copy otherwise; the two differ by fractions of a pixel, so the same chart gave a
different SVG on a machine with or without Chromium and nbval failed. labkit ships its own
font under a name no system has, registers it with vl-convert and names it first in every
chart's font stack (``labkit.viz.FONT``), so layout is the same on every machine.

The font is Liberation Sans 2.1.5 (SIL Open Font License 1.1, labkit/fonts/OFL.txt),
subset to Latin, Greek, punctuation, arrows and math symbols, and renamed "Labkit Sans" as
the licence requires of a modified version (its Reserved Font Name is "Liberation"). Its
advance widths match Arial and Liberation Sans, which browsers use for the SVG.

Run: ``apt-get download fonts-liberation2 && dpkg-deb -x fonts-liberation2_*.deb x``, then
``python tools/make_chart_font.py x/usr/share/fonts/truetype/liberation2`` (needs fonttools).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

OUT = Path(__file__).resolve().parent.parent / "labkit" / "fonts"
FAMILY = "Labkit Sans"
RANGES = [
    (0x0020, 0x007E), (0x00A0, 0x017F),   # Latin, Latin-1, Latin Extended-A
    (0x0370, 0x03FF),                     # Greek (lambda in L = lambda W, mu in us)
    (0x2000, 0x206F), (0x2070, 0x20CF),   # punctuation, super/subscripts, currency
    (0x2100, 0x214F), (0x2190, 0x21FF),   # letterlike symbols, arrows
    (0x2200, 0x23FF), (0x2500, 0x25FF),   # math operators, technical, boxes and shapes
]


def build(src: Path, style: str) -> Path:
    font = TTFont(src / f"LiberationSans-{style}.ttf", recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = ["*"]   # keep kerning: it changes measured widths
    options.name_IDs = ["*"]
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[u for lo, hi in RANGES for u in range(lo, hi + 1)])
    subsetter.subset(font)
    full = FAMILY if style == "Regular" else f"{FAMILY} {style}"
    renamed = {1: FAMILY, 16: FAMILY, 3: f"labkit: {full}", 4: full,
               6: f"{FAMILY.replace(' ', '')}-{style}"}
    for record in font["name"].names:
        if record.nameID in renamed:
            record.string = renamed[record.nameID]
    out = OUT / f"{FAMILY.replace(' ', '')}-{style}.ttf"
    font.save(out)
    return out


def main() -> None:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/truetype/liberation2")
    OUT.mkdir(exist_ok=True)
    for style in ("Regular", "Bold"):
        print(build(src, style))


if __name__ == "__main__":
    main()

#!/bin/sh
# Makes the Chinese font the window ships, gui/fonts/ImageBeamCJK-{Regular,Bold}.otf:
# Noto Sans CJK SC (Debian's fonts-noto-cjk, SIL Open Font License 1.1) cut
# down to the characters of gui/translations/zh_Hans.json that Fyne's own
# font (Noto Sans) lacks, about 450 of them, and the spaces. Latin text keeps
# Noto Sans; Chinese file and device names beyond these characters fall back
# to the system's fonts.
#
# The spaces: the text shaper (go-text) keeps a space in the run of the
# character before it and assumes every font has one, so a space after a
# Chinese character is drawn from this font, as a missing-glyph box if it
# has none. And since Fyne measures the line on the space of the first
# font that has one, which is now this one, its line metrics are made Noto
# Sans's: English text is laid out exactly as before.
#
# Run it after changing the Chinese translation (TestTranslationTextIsInTheShippedFonts
# says when); commit the two fonts. The output depends only on the
# translation and the fonts-noto-cjk version (1:20220127 on Debian 12).
# Needs: scripts/deps.sh cjk (installed when missing), Go for Fyne's font.
set -eu
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
scripts/deps.sh cjk
fyne=$(go list -m -f '{{.Dir}}' fyne.io/fyne/v2)
ttc=/usr/share/fonts/opentype/noto
# /usr/bin/python3: Debian's, with python3-fonttools (not a pyenv's).
/usr/bin/python3 - "$fyne/theme/font" "$ttc" gui/translations/zh_Hans.json gui/fonts <<'PY'
import json, sys
from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

latin_dir, ttc_dir, translation, out = sys.argv[1:]

def texts(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, s in v.items():
            if k != "description":
                yield s

chars = set()
for v in json.load(open(translation, encoding="utf-8")).values():
    for s in texts(v):
        chars.update(c for c in s if not c.isspace())

spaces = " \u00a0\u3000"  # space, no-break space, ideographic space

for weight in ("Regular", "Bold"):
    noto = TTFont(f"{latin_dir}/NotoSans-{weight}.ttf")
    latin = noto.getBestCmap()
    need = sorted(set(c for c in chars if ord(c) not in latin) | set(spaces))
    font = TTCollection(f"{ttc_dir}/NotoSansCJK-{weight}.ttc").fonts[2]  # 2 is Noto Sans CJK SC
    assert font["name"].getDebugName(1).startswith("Noto Sans CJK SC"), font["name"].getDebugName(1)
    opts = subset.Options()
    opts.hinting = False            # the window draws at its own sizes; hints double the size
    opts.desubroutinize = True
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 13, 14]
    opts.notdef_outline = True
    s = subset.Subsetter(opts)
    s.populate(unicodes=[ord(c) for c in need])
    s.subset(font)
    # A modified version gets a name of its own (OFL): "ImageBeam CJK".
    family, ps = "ImageBeam CJK", f"ImageBeamCJK-{weight}"
    for rec in font["name"].names:
        if rec.nameID == 1:
            rec.string = family
        elif rec.nameID == 3:
            rec.string = f"{ps};subset of Noto Sans CJK SC 2.004"
        elif rec.nameID == 4:
            rec.string = f"{family} {weight}" if weight != "Regular" else family
        elif rec.nameID == 6:
            rec.string = ps
    font["CFF "].cff.fontNames = [ps]
    for table, fields in (("hhea", ("ascent", "descent", "lineGap")),
                          ("OS/2", ("sTypoAscender", "sTypoDescender", "sTypoLineGap", "usWinAscent", "usWinDescent"))):
        for f in fields:
            setattr(font[table], f, getattr(noto[table], f))
    font.recalcTimestamp = False  # keep the source's date: the same input makes the same bytes
    path = f"{out}/{ps}.otf"
    font.save(path)
    missing = [c for c in need if ord(c) not in TTFont(path).getBestCmap()]
    if missing:
        sys.exit(f"Noto Sans CJK SC {weight} lacks {''.join(missing)}")
    print(f"{path}: {len(need)} characters")
PY
ls -l gui/fonts/*.otf

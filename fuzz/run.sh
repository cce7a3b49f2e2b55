#!/usr/bin/env bash
# Build the libFuzzer targets over the C codec and fuzz it for SECONDS (default 60), the C bilevel
# converter and the JPEG band decoder (libjpeg) for SECONDS / 4 each; then run the
# Python-level TIFF reader target for TIFF_SECONDS (default SECONDS / 3).
#
#   fuzz/run.sh [SECONDS]
#
# Exits non-zero on any finding (crash, sanitizer report, mismatch abort, timeout, leak, RSS
# over the limit); the input that caused it is written to fuzz/crashes/. Inputs already in
# fuzz/crashes/ are replayed first, so a committed reproducer fails the run until it is fixed.
# Needs clang and libclang-rt-14-dev (libFuzzer), libjpeg62-turbo-dev and the built Python
# extension for the corpus.
set -euo pipefail

SECONDS_TOTAL=${1:-60}
TIFF_SECONDS=${TIFF_SECONDS:-$(( SECONDS_TOTAL / 3 > 5 ? SECONDS_TOTAL / 3 : 5 ))}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CC=${CC_FUZZ:-clang}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/faxpipe-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"
mkdir -p fuzz/crashes

echo "== building fuzz_decode with $CC"
# FUZZ_CFLAGS: extra compiler flags (e.g. -DNDEBUG, -O2)
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined ${FUZZ_CFLAGS:-} \
    -I faxpipe/codec faxpipe/codec/_t4.c fuzz/fuzz_decode.c -o "$WORK/fuzz_decode"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Replay committed reproducers (libFuzzer runs each file given as an argument once).
shopt -s nullglob
repro=(fuzz/crashes/crash-* fuzz/crashes/timeout-* fuzz/crashes/oom-* fuzz/crashes/leak-*)
if ((${#repro[@]})); then
    echo "== replaying ${#repro[@]} reproducers from fuzz/crashes"
    "$WORK/fuzz_decode" -rss_limit_mb=512 -timeout=5 "${repro[@]}" || {
        status=$?
        echo "a reproducer in fuzz/crashes still fails (exit $status): see fuzz/FINDINGS.md" >&2
        exit "$status"
    }
fi

echo "== seed corpus"
python3 fuzz/make_corpus.py "$WORK/seeds"
mkdir -p "$WORK/corpus"

echo "== fuzzing the C codec for ${SECONDS_TOTAL}s"
set +e
"$WORK/fuzz_decode" -max_total_time="$SECONDS_TOTAL" -rss_limit_mb=512 -timeout=5 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix=fuzz/crashes/ \
    "$WORK/corpus" "$WORK/seeds" > "$WORK/fuzz.log" 2>&1
status=$?
tail -n 40 "$WORK/fuzz.log"
if [ "$status" -ne 0 ]; then
    echo "fuzz_decode found a problem (exit $status): see fuzz/crashes/" >&2
    exit "$status"
fi
set -e

BILEVEL_SECONDS=${BILEVEL_SECONDS:-$(( SECONDS_TOTAL / 4 > 5 ? SECONDS_TOTAL / 4 : 5 ))}
echo "== fuzzing the C bilevel converter for ${BILEVEL_SECONDS}s"
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I faxpipe/codec faxpipe/codec/_bilevel.c fuzz/fuzz_bilevel.c -o "$WORK/fuzz_bilevel"
mkdir -p "$WORK/bilevel-corpus"
"$WORK/fuzz_bilevel" -max_total_time="$BILEVEL_SECONDS" -rss_limit_mb=512 -timeout=5 \
    -artifact_prefix=fuzz/crashes/bilevel- "$WORK/bilevel-corpus" > "$WORK/bilevel.log" 2>&1 || {
    status=$?
    tail -n 40 "$WORK/bilevel.log"
    echo "fuzz_bilevel found a problem (exit $status): see fuzz/crashes/" >&2
    exit "$status"
}

JPEG_SECONDS=${JPEG_SECONDS:-$(( SECONDS_TOTAL / 4 > 5 ? SECONDS_TOTAL / 4 : 5 ))}
echo "== fuzzing the JPEG band decoder (libjpeg) for ${JPEG_SECONDS}s"
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I faxpipe/codec faxpipe/codec/_jpeg.c fuzz/fuzz_jpeg.c -ljpeg -o "$WORK/fuzz_jpeg"
mkdir -p "$WORK/jpeg-corpus" "$WORK/jpeg-seeds"
python3 - "$WORK/jpeg-seeds" <<'PY'
import io, sys
from PIL import Image, ImageDraw
image = Image.linear_gradient("L").resize((61, 45)).convert("RGB")
ImageDraw.Draw(image).text((4, 4), "fax", fill=(200, 0, 0))
options = [{}, {"progressive": True}, {"subsampling": 0}, {"restart_marker_rows": 1}, {"quality": 20}]
for i, extra in enumerate(options):
    for mode in ("RGB", "L"):
        out = io.BytesIO()
        image.convert(mode).save(out, "JPEG", **extra)
        open(f"{sys.argv[1]}/{mode}{i}.jpg", "wb").write(out.getvalue() + bytes([i * 37 + 11]))
PY
repro=(fuzz/crashes/jpeg-*)
if ((${#repro[@]})); then
    "$WORK/fuzz_jpeg" -rss_limit_mb=512 -timeout=5 "${repro[@]}" || {
        status=$?
        echo "a JPEG reproducer in fuzz/crashes still fails (exit $status)" >&2
        exit "$status"
    }
fi
"$WORK/fuzz_jpeg" -max_total_time="$JPEG_SECONDS" -rss_limit_mb=512 -timeout=5 -max_len=65536 \
    -artifact_prefix=fuzz/crashes/jpeg- "$WORK/jpeg-corpus" "$WORK/jpeg-seeds" > "$WORK/jpeg.log" 2>&1 || {
    status=$?
    tail -n 40 "$WORK/jpeg.log"
    echo "fuzz_jpeg found a problem (exit $status): see fuzz/crashes/" >&2
    exit "$status"
}

if [ -f faxpipe/tiff.py ] && [ -f fuzz/fuzz_tiff.py ]; then
    echo "== fuzzing the TIFF reader for ${TIFF_SECONDS}s"
    python3 fuzz/fuzz_tiff.py -max_total_time="$TIFF_SECONDS" -rss_limit_mb=1024 -timeout=5 \
        -artifact_prefix=fuzz/crashes/tiff- "$WORK/tiff-corpus"
fi
if [ -f fuzz/fuzz_at.py ]; then
    echo "== fuzzing the modem byte parsers (AT responses, DLE data) for ${TIFF_SECONDS}s"
    mkdir -p "$WORK/at-corpus"
    python3 fuzz/fuzz_at.py -max_total_time="$TIFF_SECONDS" -rss_limit_mb=1024 -timeout=5 \
        -artifact_prefix=fuzz/crashes/at- "$WORK/at-corpus"
fi
echo "== fuzzing found nothing"

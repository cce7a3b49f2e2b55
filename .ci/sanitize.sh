#!/usr/bin/env bash
# The codec tests (and the bilevel, resample and JPEG band ones) against a build of the C
# extensions with AddressSanitizer + UBSan.
#
#   .ci/sanitize.sh [pytest args...]     (default: the codec, bilevel and TIFF tests)
#
# The sanitized extension is built in a throw-away copy of the work tree, so the normal build in
# faxpipe/codec/ is untouched. gcc's ASan / UBSan runtimes are preloaded into Python (which is
# not built with them); leak detection is off because CPython keeps memory until exit by design
# (the fuzzer, fuzz/run.sh, checks the C codec for leaks). Exits non-zero when a test fails or
# when any sanitizer report was written, even one that did not stop the process.
# Needs gcc (libasan, libubsan: Debian's gcc pulls them in) and the test dependencies.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x "$ROOT/.venv/bin/python" ]; then PY=$ROOT/.venv/bin/python
else PY=python3; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/faxpipe-sanitize.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
COPY=$WORK/src
LOGS=$WORK/logs
mkdir -p "$COPY" "$LOGS"

echo "== copying the work tree to $COPY"
tar -C "$ROOT" --exclude=./.git --exclude=./.venv --exclude=./build --exclude='*.so' \
    --exclude=./.hypothesis --exclude=./.pytest_cache --exclude='__pycache__' -cf - . \
    | tar -C "$COPY" -xf -

echo "== building the codec with FAXPIPE_SANITIZE=1"
(cd "$COPY" && FAXPIPE_SANITIZE=1 "$PY" setup.py -q build_ext --inplace >"$LOGS/build.txt" 2>&1) \
    || { cat "$LOGS/build.txt"; exit 1; }

ASAN_LIB=$(gcc -print-file-name=libasan.so)
UBSAN_LIB=$(gcc -print-file-name=libubsan.so)
for lib in "$ASAN_LIB" "$UBSAN_LIB"; do
    [ -e "$lib" ] || { echo "sanitize.sh: $lib not found (install gcc)" >&2; exit 1; }
done

if [ $# -eq 0 ]; then
    set -- tests/test_codec_properties.py tests/test_codec_corrupt.py
    for extra in tests/test_codec_oracle.py tests/test_codec_api.py tests/test_tiff.py tests/test_bilevel.py \
                 tests/test_jpegbands.py; do
        [ -f "$COPY/$extra" ] && set -- "$@" "$extra"
    done
fi

run() {
    (cd "$COPY" && env PYTHONPATH="$COPY" \
        LD_PRELOAD="$ASAN_LIB:$UBSAN_LIB" \
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$LOGS/asan" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$LOGS/ubsan" \
        FAXPIPE_TEST_TIME_LIMIT="${FAXPIPE_TEST_TIME_LIMIT:-20}" \
        FAXPIPE_TEST_WATCHDOG="${FAXPIPE_TEST_WATCHDOG:-300}" \
        "$PY" "$@")
}

# The extension that gets imported must be the sanitized one, and must carry ASan.
where=$(run -c 'import faxpipe.codec._t4 as m; print(m.__file__)')
case "$where" in
    "$COPY"/*) ;;
    *) echo "sanitize.sh: imported $where instead of the sanitized build" >&2; exit 1 ;;
esac
if ! nm -D "$where" | grep -q __asan_; then
    echo "sanitize.sh: $where is not built with AddressSanitizer" >&2; exit 1
fi
echo "== sanitized extension: $where"

echo "== pytest $*"
set +e
run -m pytest -q -p no:cacheprovider "$@"
status=$?
set -e

reports=$(find "$LOGS" -name 'asan*' -o -name 'ubsan*' | sort)
if [ -n "$reports" ]; then
    for r in $reports; do echo "---- $r"; cat "$r"; done >&2
    echo "sanitize.sh: sanitizer reports above" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "sanitize.sh: tests failed under the sanitizers (pytest exit $status)" >&2
    exit "$status"
fi
echo "== no sanitizer report"

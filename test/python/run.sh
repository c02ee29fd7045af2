#!/bin/sh
# Runs the Python worker test suite twice:
#   1. `python3` from PATH, forced to the JSON codec (PYVISOR_CODECS=json);
#   2. /usr/bin/python3, which must have msgpack (Debian python3-msgpack), on the msgpack codec.
# Run 2 refuses to start without msgpack, so the msgpack path can never go silently untested.
set -e
cd "$(dirname "$0")/../.."

run_suite() {
    py="$1"
    codec="$2"
    echo "== pyvisor python tests: $(command -v "$py") ($("$py" -c 'import platform; print(platform.python_version())')), codec $codec"
    PYVISOR_TEST_EXPECT_CODEC="$codec" "$py" -m unittest discover -s test/python -t test/python
}

PYVISOR_CODECS=json run_suite python3 json
echo "== numpy checks on python3 (it has numpy)"
PYVISOR_CODECS=json python3 -m unittest discover -s test/python -t test/python -p numpy_checks.py

MSGPACK_PY=/usr/bin/python3
if ! "$MSGPACK_PY" -c 'import msgpack' 2>/dev/null; then
    echo "run.sh: FAIL: $MSGPACK_PY cannot import msgpack; install python3-msgpack so the msgpack codec is tested" >&2
    exit 1
fi
unset PYVISOR_CODECS
run_suite "$MSGPACK_PY" msgpack
echo "== msgpack-only checks on $MSGPACK_PY"
"$MSGPACK_PY" -m unittest discover -s test/python -t test/python -p msgpack_checks.py

#!/usr/bin/env bash
# The browser tests, one pytest process per file, each bounded in time.
#
# Dash's diskcache manager forks a process per background call; now and then a child forked
# from the busy, threaded test server blocks for good and the run never ends (a known trap,
# see the README). Each file gets its own process and TIMEOUT_S; a file that timed out (and only
# that: a failure fails at once) is run once more, loudly. Every file must pass.
set -uo pipefail
cd "$(dirname "$0")/.."
TIMEOUT_S="${BROWSER_FILE_TIMEOUT_S:-600}"
status=0
for file in tests/browser/test_*.py; do
    timeout "$TIMEOUT_S" .venv/bin/python -m pytest -m browser "$file" "$@"
    rc=$?
    if [ "$rc" -eq 124 ]; then
        echo "!!! $file did not finish in ${TIMEOUT_S}s (a blocked job process?): running it once more"
        timeout "$TIMEOUT_S" .venv/bin/python -m pytest -m browser "$file" "$@"
        rc=$?
    fi
    if [ "$rc" -ne 0 ]; then
        echo "!!! $file: exit $rc"
        status=1
    fi
done
exit "$status"

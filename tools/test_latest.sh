#!/usr/bin/env bash
# Drift guard (`make test-latest`): the notebooks and the integration tests against the
# newest dbos release instead of the pin, in a virtual environment of their own
# (.venv-latest), so .venv keeps the pinned versions. Extra arguments go to pytest,
# e.g. `tools/test_latest.sh -k server` (or `make test-latest PYTEST_ARGS='-k server'`).
# First, the wheels check on the newest release of every pinned package: could the pins
# move there without a learner on some supported Python building from source?
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${LATEST_VENV:-.venv-latest}
pin=$(sed -n 's/^ *"dbos==\([^"]*\)".*/\1/p' pyproject.toml)

if [ ! -x "$VENV/bin/python" ]; then
    PYTHON=$(tools/find_python.sh "${PYTHON:-python3}")
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e '.[test]'
echo "=== test-latest: installing the newest dbos release over the pin dbos==$pin"
echo "    (pip may warn that fiblab requires dbos==$pin: expected here) ==="
"$VENV/bin/python" -m pip install --quiet --upgrade dbos
tested=$("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("dbos"))')
banner="=== test-latest: dbos $tested (pinned: $pin) ==="
echo "$banner"

echo "=== test-latest: wheels for the newest releases of the pinned packages ==="
wheels=0
"$VENV/bin/python" tools/check_wheels.py --latest || wheels=$?

# The integration and notebook tiers (tests/conftest.py gives every test exactly one); the
# notebook tier runs each notebook once, through tests/test_notebook_reruns.py (the
# student edition, then the instructor edition, in one kernel): bare pytest does not
# collect notebooks/ (pyproject.toml's testpaths), so nbmake does not run them again.
status=0
"$VENV/bin/python" -m pytest -m "integration or notebook" "$@" || status=$?
echo "$banner: $([ "$status" -eq 0 ] && echo passed || echo "FAILED (exit $status)")"
echo "=== test-latest: wheels for the newest releases: $([ "$wheels" -eq 0 ] && echo ok || echo "FAILED (see the table above)") ==="
[ "$status" -ne 0 ] && exit "$status"
exit "$wheels"

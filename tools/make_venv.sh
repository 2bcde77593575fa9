#!/usr/bin/env bash
# Create the project virtualenv from a Python 3.10 interpreter and install pfdet
# with its test extras, all under constraints.txt (see README "Installation").
set -euo pipefail
venv=${1:-.venv}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

probe() { "$@" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; }

py=""
if [ -n "${PYTHON:-}" ] && probe "$PYTHON"; then py=$PYTHON; fi
if [ -z "$py" ] && probe python3.10; then py=python3.10; fi
if [ -z "$py" ] && command -v pyenv >/dev/null 2>&1; then
  for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -V -r); do
    cand="$(pyenv prefix "$v")/bin/python3.10"
    if probe "$cand"; then py=$cand; break; fi
  done
fi
if [ -z "$py" ]; then
  echo "error: pfdet needs a Python 3.10 interpreter (ChainerCV 0.13.1 does not build on 3.11+)." >&2
  echo "  Put python3.10 on PATH, set PYTHON=/path/to/python3.10, or 'pyenv install 3.10'." >&2
  exit 1
fi
echo "using $py ($("$py" --version))"
rm -rf "$venv"
"$py" -m venv "$venv"
pip="$venv/bin/pip"
"$pip" install -q --upgrade "pip<25"
"$pip" install -q -c constraints.txt numpy setuptools wheel Cython
"$pip" install -q -c constraints.txt --no-build-isolation chainer chainercv
"$pip" install -q -c constraints.txt --no-build-isolation -e ".[test]"
"$venv/bin/python" -c "import chainer, chainercv, chainermn, mpi4py, cv2, pandas; print('venv ok: chainer', chainer.__version__, 'chainercv', chainercv.__version__)"

#!/usr/bin/env bash
# The test command: sets up the environment (Docker engine, Compose v2, images, chromium,
# redis-server; see scripts/setup-env.sh), installs the project with its test extras, and
# runs pytest. Arguments go to pytest, e.g. scripts/test.sh tests/test_report_html.py -x
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=${PYTHON:-$(command -v python || command -v python3)}
export PYTHON=$PY PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

bash scripts/setup-env.sh
echo "test: installing compose-grader with its test extras"
"$PY" -m pip install -q -e '.[test]'
echo "test: running pytest"
exec "$PY" -m pytest -q -ra "$@"

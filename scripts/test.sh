#!/usr/bin/env bash
# The test command: sets up the environment (Docker engine, Compose v2 and v5, images, chromium,
# redis-server, tesseract; see scripts/setup-env.sh), installs the project with its test extras,
# and runs pytest: the whole suite with Compose v2, then the gradings again with Compose v5.
# Arguments go to pytest (one pass, Compose v2), e.g. scripts/test.sh tests/test_report_html.py -x
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=${PYTHON:-$(command -v python || command -v python3)}
export PYTHON=$PY PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

bash scripts/setup-env.sh
echo "test: installing compose-grader with its test extras"
"$PY" -m pip install -q -e '.[test]'
if [ $# -gt 0 ]; then
  echo "test: running pytest $*"
  exec "$PY" -m pytest -q -ra "$@"
fi

if [ "$(id -u)" -eq 0 ]; then v5_config=/opt/compose-grader/compose-v5/docker-config
else v5_config=$HOME/.cache/compose-grader/compose-v5/docker-config; fi
echo "test: running pytest (Compose $(docker compose version --short))"
GRADER_EXPECT_COMPOSE_MAJOR=2 "$PY" -m pytest -q -ra
echo "test: running the gradings again with Compose $(DOCKER_CONFIG=$v5_config docker compose version --short)"
DOCKER_CONFIG=$v5_config GRADER_EXPECT_COMPOSE_MAJOR=5 exec "$PY" -m pytest -q -ra -p no:cacheprovider \
  tests/test_compose_version.py tests/test_samples_e2e.py tests/test_compose_agreement.py tests/test_differential.py \
  tests/test_bad_input.py tests/test_hostile_engine.py tests/test_zz_no_leaks.py

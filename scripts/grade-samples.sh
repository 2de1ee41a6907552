#!/usr/bin/env bash
# The README's main command: sets up what grading needs (scripts/setup-env.sh --grading-only),
# installs compose-grader, and grades every submission in sample_submissions/ with
# `grader batch`: reports/<student>.html, reports/index.html (the class dashboard),
# reports/grades.csv and reports/results.json.
# Usage: scripts/grade-samples.sh [OUT_DIR] [extra `grader batch` options]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:-reports}
shift || true

PY=${PYTHON:-$(command -v python || command -v python3)}
export PYTHON=$PY PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

bash scripts/setup-env.sh --grading-only
echo "grade-samples: installing compose-grader"
"$PY" -m pip install -q -e .
# The console script lands in the interpreter's scripts folder, which need not be on PATH
# (pyenv shims appear only after a rehash).
grader="$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/grader"
[ -x "$grader" ] || grader=grader
exec "$grader" batch sample_submissions --out "$out" "$@" </dev/null

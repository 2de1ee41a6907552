#!/usr/bin/env bash
# Grades every submission in sample_submissions/ and writes reports/<name>.html and
# reports/<name>.json. Sets up the environment first (scripts/setup-env.sh --grading-only).
# Usage: scripts/grade-samples.sh [OUT_DIR]   (default: reports)
# Exits 0 when every submission was graded, whatever the students scored; non-zero when the
# grader could not grade one (environment error, exit code 2) or was interrupted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:-reports}

PY=${PYTHON:-$(command -v python || command -v python3)}
export PYTHON=$PY PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

bash scripts/setup-env.sh --grading-only
echo "grade-samples: installing compose-grader"
"$PY" -m pip install -q -e .
# The console script lands in the interpreter's scripts folder, which need not be on PATH
# (pyenv shims appear only after a rehash).
grader="$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/grader"
[ -x "$grader" ] || grader=grader

mkdir -p "$out"
logs=$(mktemp -d /tmp/grader-samples.XXXXXX)
trap 'rm -rf "$logs"' EXIT
graded=0 errors=0
for dir in sample_submissions/*/; do
  name=$(basename "$dir")
  log="$logs/$name.log"
  rm -f "$out/$name.json"
  set +e
  "$grader" check "$dir" --json "$out/$name.json" --out "$out" </dev/null >"$log" 2>&1
  rc=$?
  set -e
  case $rc in
    0|1)
      if ! summary=$("$PY" - "$out/$name.json" "$rc" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
def ids(status):
    return [c["id"] + (" (bonus)" if c.get("bonus") else "") for c in r["checks"] if c["status"] == status]
failed, skipped = ids("failed"), ids("skipped")
line = f'{"PASS" if sys.argv[2] == "0" else "FAIL"}  {r["score"]:g}/{r["max_score"]:g}'
if failed:
    line += "  failed: " + ", ".join(failed)
if skipped:
    line += "  skipped: " + ", ".join(skipped)
print(line)
PY
); then
        printf '%-24s ERROR (no readable %s)\n' "$name" "$out/$name.json"
        sed 's/^/    /' "$log" | tail -n 20
        errors=$((errors + 1))
        continue
      fi
      printf '%-24s %s\n' "$name" "$summary"
      graded=$((graded + 1)) ;;
    130|143)
      echo "grade-samples: interrupted while grading $name" >&2
      exit "$rc" ;;
    *)
      printf '%-24s ERROR (grader exit %s)\n' "$name" "$rc"
      sed 's/^/    /' "$log" | tail -n 20
      errors=$((errors + 1)) ;;
  esac
done
echo "grade-samples: graded $graded submission(s), $errors error(s); reports in $(cd "$out" && pwd)/ (<name>.html, <name>.json)"
[ "$errors" -eq 0 ]

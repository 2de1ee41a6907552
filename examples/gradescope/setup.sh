#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image. It installs
# compose-grader from the copy of the repository inside the autograder zip
# (/autograder/source/compose-grader, see README.md) into its own virtual environment.
set -euo pipefail

SOURCE=${AUTOGRADER_ROOT:-/autograder}/source
VENV=${GRADER_VENV:-/opt/compose-grader}

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip ca-certificates

# The Docker CLI and Compose: the compose-file check validates the student's file with
# `docker compose config`, which needs no engine. (Gradescope's container runs no Docker
# engine, so the runtime checks are skipped: see README.md.) Package names differ between
# Ubuntu releases, hence the fallbacks.
install() { apt-get install -y -q --no-install-recommends "$@"; }
install docker-cli || install docker.io
install docker-compose-v2 || install docker-compose-plugin || install docker-compose

python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "$SOURCE/compose-grader"
"$VENV/bin/python" -I -m grader.cli --version

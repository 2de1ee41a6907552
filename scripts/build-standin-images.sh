#!/usr/bin/env bash
# Builds offline stand-ins for the public images the assignment uses, for machines
# that reach no container registry. Where a registry is reachable, pull instead.
set -euo pipefail
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
work=$(mktemp -d /tmp/grader-standin.XXXXXX)
trap 'rm -rf "$work"' EXIT

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

try_pull() { timeout 60 docker pull -q "$1" >/dev/null 2>&1; }

build_redis() {
  local root="$work/redis"
  debootstrap --variant=minbase --include=redis-server bookworm "$root" "$MIRROR" >"$work/redis.log" 2>&1 \
    || { tail -n 20 "$work/redis.log"; return 1; }
  mkdir -p "$root/data"
  rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*
  tar -C "$root" -c . | docker import \
    -c 'VOLUME /data' -c 'WORKDIR /data' -c 'EXPOSE 6379' \
    -c 'CMD ["redis-server", "--protected-mode", "no", "--bind", "0.0.0.0", "--dir", "/data"]' \
    - redis:alpine >/dev/null
}

build_python() {
  local root="$work/python"
  debootstrap --variant=minbase \
    --include=python3,python3-pip,python-is-python3,ca-certificates,python3-flask,python3-redis \
    bookworm "$root" "$MIRROR" >"$work/python.log" 2>&1 || { tail -n 20 "$work/python.log"; return 1; }
  rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/host-ca-certificates.crt"
  rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*
  tar -C "$root" -c . | docker import \
    -c 'ENV PIP_CERT=/etc/ssl/certs/host-ca-certificates.crt' \
    -c 'ENV PIP_DISABLE_PIP_VERSION_CHECK=1' -c 'ENV PYTHONUNBUFFERED=1' \
    -c 'CMD ["python3"]' - python:3.11-slim >/dev/null
}

ensure() {  # ensure IMAGE BUILDER [ALIASES...]
  local image=$1 builder=$2; shift 2
  if ! have_image "$image"; then
    if try_pull "$image"; then echo "pulled $image"; else echo "building stand-in for $image"; "$builder"; fi
  fi
  for alias in "$@"; do
    have_image "$alias" || try_pull "$alias" || docker tag "$image" "$alias"
  done
}

ensure redis:alpine build_redis redis:7-alpine redis:latest
ensure python:3.11-slim build_python
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}'

#!/usr/bin/env bash
# Makes this machine ready to build and run fmserve's containers:
#   - installs docker.io, docker-compose and debootstrap from Debian when
#     `docker`, `docker-compose` or `debootstrap` is missing;
#   - starts the Docker engine when none answers (systemd when it runs the
#     machine, else dockerd in the background, log in /var/log/fm-dockerd.log);
#   - builds the debian:bookworm(-slim) base images locally when they are
#     missing (scripts/docker_base.sh: no registry needed);
#   - runs one container to prove the kernel can.
# Exit status: 0 ready; 77 this machine cannot run containers (the reason
# on stderr; tests report themselves skipped); 1 anything else failed.
set -uo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! sudo -n true 2>/dev/null; then
    echo "docker_setup: needs root or passwordless sudo" >&2
    exit 77
  fi
  SUDO="sudo"
fi

missing=()
command -v docker >/dev/null || missing+=(docker.io)
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "docker_setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! { $SUDO apt-get update -qq &&
         $SUDO apt-get install -y -qq --no-install-recommends \
           "${missing[@]}" iptables >/dev/null; }; then
    echo "docker_setup: apt-get could not install ${missing[*]}" >&2
    exit 77
  fi
fi

engine_up() { timeout 10 $SUDO docker info >/dev/null 2>&1; }

if ! engine_up; then
  if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    echo "docker_setup: starting docker through systemd"
    $SUDO systemctl start docker >/dev/null 2>&1 || true
  fi
fi
if ! engine_up; then
  echo "docker_setup: starting dockerd (log /var/log/fm-dockerd.log)"
  $SUDO sh -c 'setsid nohup dockerd >/var/log/fm-dockerd.log 2>&1 </dev/null &'
  for _ in $(seq 60); do
    engine_up && break
    sleep 0.5
  done
fi
if ! engine_up; then
  echo "docker_setup: the Docker engine does not start here:" >&2
  $SUDO tail -5 /var/log/fm-dockerd.log >&2 2>/dev/null
  exit 77
fi

bash scripts/docker_base.sh || exit 1

if ! out=$(timeout 60 $SUDO docker run --rm --network none \
             debian:bookworm-slim true 2>&1); then
  echo "docker_setup: this kernel cannot run a container: $out" >&2
  exit 77
fi
echo "docker_setup: ready ($($SUDO docker version -f 'engine {{.Server.Version}}' 2>/dev/null), $(docker-compose version --short 2>/dev/null || echo 'docker-compose ?'))"

#!/usr/bin/env bash
# Builds the debian:bookworm and debian:bookworm-slim base images locally
# with debootstrap from the Debian package archive, for hosts that cannot
# reach an image registry (air-gapped machines, or networks that reach only
# a Debian mirror). Does nothing for an image that already exists.
#
#   bash scripts/docker_base.sh            # both images, when missing
#   FM_DEBIAN_MIRROR=http://mirror/debian bash scripts/docker_base.sh
#
# One minbase debootstrap (about 35 s) serves both: bookworm-slim is the same
# tree without documentation, manual pages and locales, and with a dpkg
# config that keeps them out of later installs, as Debian's official slim
# images do. Runs as root, or through sudo; needs debootstrap and a running
# Docker engine.
set -euo pipefail

mirror="${FM_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${FM_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

have_image() { $SUDO docker image inspect "$1" >/dev/null 2>&1; }

if have_image debian:bookworm && have_image debian:bookworm-slim; then
  echo "docker_base: debian:bookworm and debian:bookworm-slim present"
  exit 0
fi
command -v debootstrap >/dev/null || {
  echo "docker_base: debootstrap is missing (apt-get install debootstrap)" >&2
  exit 1
}

root=$(mktemp -d /tmp/fm-debootstrap.XXXXXX)
trap '$SUDO rm -rf "$root"' EXIT
echo "docker_base: debootstrap --variant=minbase bookworm from $mirror"
$SUDO debootstrap --variant=minbase bookworm "$root/rootfs" "$mirror" \
  >"$root/debootstrap.log" 2>&1 || {
  tail -20 "$root/debootstrap.log" >&2
  echo "docker_base: debootstrap failed (log above)" >&2
  exit 1
}
rootfs="$root/rootfs"

# The same archive areas as a stock Debian 12 image: updates and security
# fixes, so packages installed in images match those of an up-to-date host.
$SUDO tee "$rootfs/etc/apt/sources.list" >/dev/null <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
# Container conventions of Debian's images: no recommends, no apt caches,
# no services started by package scripts during a build.
$SUDO tee "$rootfs/etc/apt/apt.conf.d/docker-clean" >/dev/null <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$rootfs/usr/sbin/policy-rc.d" >/dev/null
$SUDO chmod 755 "$rootfs/usr/sbin/policy-rc.d"
$SUDO rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/tmp/*
$SUDO truncate -s 0 "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf" 2>/dev/null || true

import() {  # TAG: imports $rootfs as TAG unless it exists
  if have_image "$1"; then
    echo "docker_base: $1 present"
    return
  fi
  $SUDO tar -C "$rootfs" -c . | $SUDO docker import \
    --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$1" >/dev/null
  echo "docker_base: built $1 ($($SUDO docker image inspect -f '{{.Size}}' "$1") bytes)"
}
import debian:bookworm

$SUDO tee "$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" >/dev/null <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
$SUDO find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright \
  -not -type d -delete
$SUDO find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
$SUDO rm -rf "$rootfs"/usr/share/info/* "$rootfs"/usr/share/man/* \
  "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/lintian/*
import debian:bookworm-slim

#!/usr/bin/env bash
# Installs every Debian package espgw needs to build, run, test and benchmark.
# Usage: scripts/setup.sh [--hugepages N]   (N 2 MB pages reserved; 0 = leave as is)
set -euo pipefail

hugepages=0
while [ $# -gt 0 ]; do
  case "$1" in
    --hugepages) hugepages="$2"; shift 2 ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

build_pkgs=(dpdk dpdk-dev libdpdk-dev libipsec-mb-dev libconfig++-dev libconfig-dev
  meson ninja-build pkg-config libpcap-dev libnuma-dev python3-pyelftools g++
  libssl-dev libgtest-dev googletest
  clang libclang-rt-dev)  # scripts/fuzz.sh: clang and its libFuzzer / sanitizer runtimes
test_pkgs=(iproute2 iputils-ping nftables conntrack tshark python3-scapy python3-cryptography
  user-mode-linux kmod socat iperf3 procps psmisc
  lua5.4
  strongswan-swanctl charon-systemd strongswan-charon libstrongswan-standard-plugins
  libstrongswan-extra-plugins libcharon-extra-plugins)

need=()
for p in "${build_pkgs[@]}" "${test_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done

if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer once, non-interactively.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt_opts=(-y -q -o DPkg::Lock::Timeout=300 --no-install-recommends)
  apt-get -q -o DPkg::Lock::Timeout=300 update
  apt-get "${apt_opts[@]}" install "${need[@]}"
fi

if [ "$hugepages" -gt 0 ]; then
  echo "$hugepages" > /proc/sys/vm/nr_hugepages
  mountpoint -q /dev/hugepages || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages; }
  echo "hugepages: $(cat /proc/sys/vm/nr_hugepages) x 2MB reserved"
fi

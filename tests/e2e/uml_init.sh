#!/bin/sh
# PID 1 of the User-Mode Linux guest started by uml_peer.py.
# The guest's root is the host's / through hostfs, read-only: every host tool is there, and the
# only writable places are the tmpfs mounts below and EGW_DIR, a host directory mounted
# read-write. EGW_DIR and EGW_ENCAP_PORT come from the kernel command line (the kernel hands
# unknown name=value parameters to init as environment variables).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
set -e

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /run
mount -t hostfs hostfs -o "$EGW_DIR" "$EGW_DIR"

# The kernel's own modules live in the package, not in /lib/modules: point modprobe (also the
# one the kernel calls for on-demand loads) at them through a wrapper in the writable dir.
mkdir -p "$EGW_DIR/lib"
ln -sfn /usr/lib/uml/modules "$EGW_DIR/lib/modules"
printf '#!/bin/sh\nexec /sbin/modprobe -d %s "$@"\n' "$EGW_DIR" > "$EGW_DIR/modprobe"
chmod +x "$EGW_DIR/modprobe"
echo "$EGW_DIR/modprobe" > /proc/sys/kernel/modprobe
# Loaded up front: on-demand loading during the first `ip xfrm state add` is slow.
"$EGW_DIR/modprobe" -a xfrm_user esp4 gcm ghash-generic ctr seqiv echainiv authenc cbc hmac \
    sha256_generic aes_generic dummy
# A peer over IPv6 (EGW_IPV6=1 on the command line): IPv6 with its ESP.
if [ "$EGW_IPV6" = 1 ]; then "$EGW_DIR/modprobe" -a ipv6 esp6 xfrm6_tunnel; fi

ip link set lo up

exec /usr/bin/python3 "$(dirname "$0")/uml_guest.py" "$EGW_DIR"

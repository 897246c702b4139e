#!/bin/sh
# mmdebstrap customize hook: mounts of the SD-card layout (deploy/rauc/system.conf).
# Slots hold only the system; what the box keeps lives on the data partition.
set -eu
ROOT="$1"
cat > "$ROOT/etc/fstab" <<'FSTAB'
# <what>                       <where>                              <type> <options>                                   <dump> <pass>
PARTLABEL=autoboot             /boot/autoboot                       vfat   defaults,noatime,umask=0077                  0 2
PARTLABEL=data                 /data                                ext4   defaults,noatime,x-systemd.growfs            0 2
/data/openrange                /var/lib/openrange                   none   bind,x-systemd.requires-mounts-for=/data     0 0
/data/rauc                     /var/lib/rauc                        none   bind,x-systemd.requires-mounts-for=/data     0 0
/data/network                  /etc/NetworkManager/system-connections none bind,x-systemd.requires-mounts-for=/data   0 0
FSTAB
mkdir -p "$ROOT/boot/autoboot" "$ROOT/data" "$ROOT/var/lib/openrange" "$ROOT/var/lib/rauc" \
    "$ROOT/etc/NetworkManager/system-connections"
cat > "$ROOT/etc/tmpfiles.d/openrange-data.conf" <<'TMP'
d /data/openrange 0750 openrange openrange -
d /data/rauc 0755 root root -
d /data/network 0700 root root -
TMP

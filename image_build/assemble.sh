#!/bin/sh
# Turn OUTDIR/rootfs.tar into one slot's images and the whole SD card (run by build.sh; root).
#
# Card (GPT): 1 autoboot (FAT 64M: autoboot.txt, boot state)  2 bootA  3 bootB (FAT 256M)
#             4 rootA  5 rootB (ext4 3G)  6 data (ext4, grown to the card at first boot)
# The Pi firmware reads autoboot.txt on partition 1: boot_partition=2 normally, 3 on a one-time
# tryboot. config.txt's [partition=N] filter picks cmdline-a.txt or cmdline-b.txt, so one boot
# image serves both slots (and one bundle updates either).
set -eu
OUT="${1:?usage: assemble.sh OUTDIR}"
ROOT_MB="${ROOT_MB:-3072}"
BOOT_MB=256
AUTOBOOT_MB=64
DATA_MB="${DATA_MB:-1024}"
W="$OUT/work"
rm -rf "$W"
mkdir -p "$W/root" "$W/boot" "$W/autoboot" "$W/data/openrange" "$W/data/rauc" "$W/data/network"
tar -C "$W/root" -xpf "$OUT/rootfs.tar"

# Boot partition: what raspi-firmware put in /boot/firmware, plus the per-slot command lines.
cp -a "$W/root/boot/firmware/." "$W/boot/"
rm -rf "$W/root/boot/firmware" && mkdir -p "$W/root/boot/firmware"
for slot in a b; do
    label="root$(echo $slot | tr a-z A-Z)"
    echo "console=tty1 root=PARTLABEL=$label rootfstype=ext4 rootwait rauc.slot=$(echo $slot | tr a-z A-Z) quiet" \
        > "$W/boot/cmdline-$slot.txt"
done
cat >> "$W/boot/config.txt" <<'CONFIG'

# OpenRange A/B: the partition the firmware booted from chooses the slot's command line.
[partition=2]
cmdline=cmdline-a.txt
[partition=3]
cmdline=cmdline-b.txt
[all]
arm_64bit=1
dtoverlay=vc4-kms-v3d
camera_auto_detect=1
CONFIG
printf '[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n' > "$W/autoboot/autoboot.txt"
printf 'primary=A\nA=good\nB=bad\nbooted=A\n' > "$W/autoboot/openrange-bootstate"

rm -f "$OUT/rootfs.ext4" "$OUT/boot.vfat" "$W/autoboot.vfat" "$W/data.ext4"
mkfs.ext4 -q -L root -d "$W/root" "$OUT/rootfs.ext4" "${ROOT_MB}M"
mkfs.vfat -n BOOT -C "$OUT/boot.vfat" $((BOOT_MB * 1024)) >/dev/null
mcopy -s -i "$OUT/boot.vfat" "$W/boot/"* ::/
mkfs.vfat -n AUTOBOOT -C "$W/autoboot.vfat" $((AUTOBOOT_MB * 1024)) >/dev/null
mcopy -i "$W/autoboot.vfat" "$W/autoboot/"* ::/
mkfs.ext4 -q -L data -d "$W/data" "$W/data.ext4" "${DATA_MB}M"

# The card: partitions at 1 MiB boundaries, written in place (no loop devices needed).
IMG="$OUT/openrange.img"
rm -f "$IMG"
start=1
layout=""
for part in "autoboot $AUTOBOOT_MB" "bootA $BOOT_MB" "bootB $BOOT_MB" "rootA $ROOT_MB" "rootB $ROOT_MB" "data $DATA_MB"; do
    set -- $part
    layout="$layout${start}MiB $2MiB $1
"
    start=$((start + $2))
done
truncate -s "$((start + 1))M" "$IMG"
{
    echo "label: gpt"
    echo "$layout" | while read -r at size name; do
        [ -n "$at" ] || continue
        type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
        case "$name" in autoboot|boot*) type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 ;; esac
        echo "start=$((${at%MiB} * 2048)), size=$((${size%MiB} * 2048)), type=$type, name=$name"
    done
} | sfdisk --quiet "$IMG"
put() {  # put IMAGE START_MIB
    dd if="$1" of="$IMG" bs=1M seek="$2" conv=notrunc,sparse status=none
}
put "$W/autoboot.vfat" 1
put "$OUT/boot.vfat" $((1 + AUTOBOOT_MB))
put "$OUT/rootfs.ext4" $((1 + AUTOBOOT_MB + 2 * BOOT_MB))
put "$W/data.ext4" $((1 + AUTOBOOT_MB + 2 * BOOT_MB + 2 * ROOT_MB))
rm -rf "$W"
echo "image: $IMG (slot A: $OUT/rootfs.ext4 + $OUT/boot.vfat)"

#!/bin/sh
# Build the OpenRange SD-card image for a Raspberry Pi 4/5 (arm64) with mmdebstrap.
#
#   sudo image_build/build.sh [--flavour ci|release] [--version V] --keyring K [--rootfs-only|--no-kernel] OUTDIR
#
# ci       Debian's archive alone (main, contrib, non-free-firmware): Debian's arm64 kernel and
#          raspi-firmware. Builds anywhere Debian's archive and PyPI are reachable.
# release  adds the Raspberry Pi archive (its kernel and firmware, libcamera + python3-picamera2,
#          python3-lgpio for the Pi 5's GPIO). Needs archive.raspberrypi.com and its key
#          (raspberrypi-archive-keyring) on the build host.
#
# Output in OUTDIR: rootfs.tar (the root file system), rootfs.ext4 + boot.vfat (one slot, also the
# input of image_build/make-bundle.sh), openrange.img (the whole card: GPT, slots A and B, data).
# Needs root, mmdebstrap, qemu-user-static + binfmt-support (foreign arm64), e2fsprogs,
# dosfstools, mtools, fdisk. The partition layout matches deploy/rauc/system.conf.
set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$HERE")"
FLAVOUR=ci
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml" | head -n 1)"
KEYRING=""
ROOTFS_ONLY=0
NO_KERNEL=0
SUITE=bookworm
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
while [ $# -gt 1 ]; do
    case "$1" in
        --flavour) FLAVOUR="$2"; shift 2 ;;
        --version) VERSION="$2"; shift 2 ;;
        --keyring) KEYRING="$2"; shift 2 ;;
        --rootfs-only) ROOTFS_ONLY=1; shift ;;
        --no-kernel) NO_KERNEL=1; shift ;;
        *) echo "build: unknown option $1" >&2; exit 2 ;;
    esac
done
OUT="${1:?usage: build.sh [--flavour ci|release] [--version V] --keyring K [--rootfs-only|--no-kernel] OUTDIR}"
[ -n "$KEYRING" ] || { echo "build: --keyring is required (deploy/keys/README.md)" >&2; exit 2; }
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
KEYRING="$(cd "$(dirname "$KEYRING")" && pwd)/$(basename "$KEYRING")"

# The program and its dependencies as aarch64 wheels, fetched here by the build host's pip (its
# index, proxy and CA settings apply); inside the emulated chroot pip then installs offline.
PYTHON="${PYTHON:-python3}"
WHEELS="$OUT/wheels"
rm -rf "$WHEELS" && mkdir -p "$WHEELS"
"$PYTHON" -m pip wheel --quiet --no-deps -w "$WHEELS" "$REPO"
"$PYTHON" -m pip download --quiet --only-binary=:all: --implementation cp --python-version 3.11 \
    --platform manylinux_2_28_aarch64 --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 \
    --platform linux_aarch64 -d "$WHEELS" "$WHEELS"/openrange-*.whl

# What the box runs on (see Makefile RUN_PACKAGES for the same list on a development machine).
PACKAGES="systemd systemd-sysv udev dbus polkitd network-manager avahi-daemon openssh-server
 python3 python3-venv python3-pip python3-systemd libmpv2 ffmpeg espeak-ng fonts-dejavu-core
 rauc e2fsprogs dosfstools cloud-guest-utils openssl ca-certificates iproute2 kmod"
case "$FLAVOUR" in
    ci)
        PACKAGES="$PACKAGES linux-image-arm64 raspi-firmware firmware-brcm80211 wireless-regdb"
        EXTRA_SOURCES="" ;;
    release)
        PACKAGES="$PACKAGES linux-image-rpi-v8 linux-image-rpi-2712 raspi-firmware firmware-brcm80211
 python3-picamera2 python3-libcamera libcamera-ipa python3-lgpio raspberrypi-archive-keyring"
        EXTRA_SOURCES="deb [signed-by=/usr/share/keyrings/raspberrypi-archive-keyring.gpg] http://archive.raspberrypi.com/debian $SUITE main" ;;
    *) echo "build: --flavour is ci or release" >&2; exit 2 ;;
esac
if [ "$NO_KERNEL" = 1 ]; then  # a root file system to test the program in, not to boot
    PACKAGES="$(echo $PACKAGES | tr ' ' '\n' | grep -v -e '^linux-image' -e '^raspi-firmware' -e '^firmware-' | tr '\n' ' ')"
    ROOTFS_ONLY=1
fi

# 1. The root file system, with OpenRange installed by deploy/install.sh inside it.
set -- --architectures=arm64 --variant=apt --components="main contrib non-free-firmware" \
    --include="$(echo $PACKAGES | tr ' ' ',')" \
    --customize-hook="mkdir -p \"\$1/opt/openrange/src\"" \
    --customize-hook="copy-in $REPO/appliance $REPO/hardware $REPO/web_ui $REPO/deploy $REPO/pyproject.toml $REPO/README.md /opt/openrange/src" \
    --customize-hook="upload $KEYRING /tmp/keyring.pem" \
    --customize-hook="copy-in $WHEELS /tmp" \
    --customize-hook="chroot \"\$1\" env KEYRING=/tmp/keyring.pem VERSION=$VERSION WHEELS=/tmp/wheels sh /opt/openrange/src/deploy/install.sh" \
    --customize-hook="rm -rf \"\$1/tmp/keyring.pem\" \"\$1/tmp/wheels\"; echo openrange > \"\$1/etc/hostname\"" \
    --customize-hook="$HERE/fstab.sh \"\$1\""
if [ "$FLAVOUR" = release ]; then
    set -- "$@" --setup-hook='mkdir -p "$1/usr/share/keyrings"' \
        --setup-hook='upload /usr/share/keyrings/raspberrypi-archive-keyring.gpg /usr/share/keyrings/raspberrypi-archive-keyring.gpg'
fi
mmdebstrap "$@" "$SUITE" "$OUT/rootfs.tar" \
    "deb $MIRROR $SUITE main contrib non-free-firmware" \
    "deb $MIRROR $SUITE-updates main contrib non-free-firmware" \
    "deb http://security.debian.org/debian-security $SUITE-security main contrib non-free-firmware" \
    ${EXTRA_SOURCES:+"$EXTRA_SOURCES"}
[ "$ROOTFS_ONLY" = 1 ] && { echo "rootfs: $OUT/rootfs.tar"; exit 0; }

# 2. One slot: rootfs.ext4 (without /boot/firmware) and boot.vfat (firmware, kernel, cmdline.txt).
"$HERE/assemble.sh" "$OUT"

#!/bin/sh
# Make a signed RAUC update bundle from a root file system image and a boot partition image.
#
#   image_build/make-bundle.sh --rootfs rootfs.ext4 --boot boot.vfat --version 1.2.0 \
#       --cert signing.cert.pem --key signing.key.pem [--format verity] [--compatible C] OUT.raucb
#
# --key may be a PKCS#11 URL (release key on a hardware token, see deploy/keys/README.md).
# The bundle carries deploy/rauc/bundle-hook as its install-check hook (compatible + no downgrade).
# The box accepts only 'verity' bundles; 'plain' exists for machines without device-mapper (tests).
set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$HERE")"
FORMAT=verity
COMPATIBLE=openrange-rpi-arm64
ROOTFS="" BOOT="" VERSION="" CERT="" KEY=""
while [ $# -gt 1 ]; do
    case "$1" in
        --rootfs) ROOTFS="$2"; shift 2 ;;
        --boot) BOOT="$2"; shift 2 ;;
        --version) VERSION="$2"; shift 2 ;;
        --cert) CERT="$2"; shift 2 ;;
        --key) KEY="$2"; shift 2 ;;
        --format) FORMAT="$2"; shift 2 ;;
        --compatible) COMPATIBLE="$2"; shift 2 ;;
        *) echo "make-bundle: unknown option $1" >&2; exit 2 ;;
    esac
done
OUT="${1:?usage: make-bundle.sh --rootfs F --boot F --version V --cert C --key K OUT.raucb}"
for v in ROOTFS VERSION CERT KEY; do
    eval "[ -n \"\$$v\" ]" || { echo "make-bundle: --$(echo $v | tr 'A-Z' 'a-z') is required" >&2; exit 2; }
done
case "$VERSION" in *[!0-9A-Za-z.+~-]*|"") echo "make-bundle: bad version '$VERSION'" >&2; exit 2 ;; esac

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp "$ROOTFS" "$WORK/rootfs.ext4"
[ -z "$BOOT" ] || cp "$BOOT" "$WORK/boot.vfat"
cp "$REPO/deploy/rauc/bundle-hook" "$WORK/hook"
chmod 0755 "$WORK/hook"
{
    printf '[update]\ncompatible=%s\nversion=%s\n' "$COMPATIBLE" "$VERSION"
    printf 'build=%s\n\n' "$(date -u +%Y%m%dT%H%M%SZ)"
    printf '[bundle]\nformat=%s\n\n' "$FORMAT"
    printf '[hooks]\nfilename=hook\nhooks=install-check\n\n'
    printf '[image.rootfs]\nfilename=rootfs.ext4\n'
    [ -z "$BOOT" ] || printf '\n[image.boot]\nfilename=boot.vfat\n'
} > "$WORK/manifest.raucm"
rm -f "$OUT"
rauc bundle "--cert=$CERT" "--key=$KEY" "$WORK" "$OUT"

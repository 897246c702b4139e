#!/bin/sh
# Install OpenRange as a system service into a root file system (the running one, or an image
# being built: DESTDIR=/path/to/rootfs). Debian 12 (bookworm) / Raspberry Pi OS, arm64.
#
#   sudo KEYRING=release-keyring.pem deploy/install.sh              # this machine
#   DESTDIR=rootfs KEYRING=... SKIP_PYTHON=1 deploy/install.sh      # files only (tests)
#
# KEYRING: the RAUC keyring (CA certificate + CRL) bundles are checked against; required.
# VERSION: the version this root file system is (default: pyproject.toml's).
# WHEELS: a folder of wheels to install the program from, offline (the image build's).
# SKIP_PYTHON=1: do not create the virtualenv (tests of the file layout).
set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$HERE")"
D="${DESTDIR:-}"
KEYRING="${KEYRING:?KEYRING=<keyring.pem> is required (deploy/keys/README.md)}"
VERSION="${VERSION:-$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml" | head -n 1)}"
VENV=/opt/openrange/venv

inst() {  # inst MODE SOURCE TARGET
    install -D -m "$1" "$2" "$D$3"
}

# systemd units, users, folders
for unit in openrange.service openrange-reboot.service openrange-bootstate.service \
            openrange-firstboot.service openrange-fallback.service rauc.service; do
    inst 0644 "$HERE/systemd/$unit" "/usr/lib/systemd/system/$unit"
done
inst 0644 "$HERE/sysusers/openrange.conf" /usr/lib/sysusers.d/openrange.conf
inst 0644 "$HERE/tmpfiles/openrange.conf" /usr/lib/tmpfiles.d/openrange.conf
inst 0644 "$HERE/udev/90-openrange-usb.rules" /usr/lib/udev/rules.d/90-openrange-usb.rules
inst 0644 "$HERE/udev/60-openrange-devices.rules" /usr/lib/udev/rules.d/60-openrange-devices.rules
inst 0644 "$HERE/polkit/50-openrange.rules" /usr/share/polkit-1/rules.d/50-openrange.rules
inst 0644 "$HERE/dbus/de.pengutronix.rauc.conf" /usr/share/dbus-1/system.d/de.pengutronix.rauc.conf

# RAUC: system configuration, trusted keyring, boot chooser
inst 0644 "$HERE/rauc/system.conf" /etc/rauc/system.conf
inst 0644 "$KEYRING" /etc/rauc/keyring.pem
inst 0755 "$HERE/rauc/bootchooser" /usr/lib/openrange/rauc/bootchooser
inst 0755 "$HERE/bin/reboot-box" /usr/lib/openrange/reboot-box
inst 0755 "$HERE/bin/fallback-if-trial" /usr/lib/openrange/fallback-if-trial
inst 0755 "$HERE/firstboot/openrange-firstboot" /usr/lib/openrange/firstboot
inst 0644 "$HERE/networkmanager/openrange-ap.nmconnection" \
    /usr/share/openrange/networkmanager/openrange-ap.nmconnection
inst 0644 "$HERE/networkmanager/openrange-client.nmconnection.example" \
    /usr/share/openrange/networkmanager/openrange-client.nmconnection.example
mkdir -p "$D/usr/lib/openrange" "$D/etc/openrange"
echo "$VERSION" > "$D/usr/lib/openrange/version"
[ -f "$D/etc/openrange/settings.yaml" ] || cat > "$D/etc/openrange/settings.yaml" <<'YAML'
# OpenRange system settings (docs/configuration.md). The admin page's changes go to
# /var/lib/openrange/settings.yaml and win over this file.
hardware: pi
data_dir: /var/lib/openrange
demo_library: false
web:
  host: 0.0.0.0
YAML

# The program: a virtualenv that also sees Debian's python3-systemd (and, on the release image,
# python3-picamera2 / python3-libcamera from the Raspberry Pi archive).
if [ "${SKIP_PYTHON:-0}" != 1 ]; then
    python3 -m venv --system-site-packages "$D$VENV"
    if [ -n "${WHEELS:-}" ]; then  # offline, from wheels fetched beforehand (image_build/build.sh)
        "$D$VENV/bin/pip" install --no-cache-dir --quiet --no-index --find-links "$WHEELS" openrange
    else
        "$D$VENV/bin/pip" install --no-cache-dir --quiet "$REPO"
    fi
fi

# Enable: the service, first boot, the boot-state recorder, RAUC.
if command -v systemctl >/dev/null 2>&1; then
    if [ -n "$D" ]; then root="--root=$D"; else root=""; fi
    systemctl $root enable openrange.service openrange-firstboot.service \
        openrange-bootstate.service rauc.service >/dev/null 2>&1 \
        || echo "install: enable the units by hand (systemctl enable openrange.service ...)" >&2
fi
echo "OpenRange $VERSION installed into ${D:-/}"

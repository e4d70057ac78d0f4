#!/bin/sh
# Installs the Debian/Ubuntu packages a make target needs, only when missing.
# Usage: scripts/deps.sh GROUP...   (groups: gui test shot cjk package codec-bench wine)
set -eu

pkgs=""
for group in "$@"; do
	case "$group" in
	gui) pkgs="$pkgs ca-certificates gcc libc6-dev pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev" ;;
	test) pkgs="$pkgs mosquitto python3-paho-mqtt" ;;
	shot) pkgs="$pkgs xvfb imagemagick xdotool" ;;
	# cjk: a system font for Chinese file and device names (the window's own
	# Chinese text is in the font it ships), and what scripts/cjk-font.sh cuts
	# that font from.
	cjk) pkgs="$pkgs fonts-noto-cjk python3-fonttools" ;;
	# package: mingw-w64 cross-compiler and windres, makensis, dpkg-shlibdeps (dpkg-dev);
	# lintian, file and 7z check the packages (CI).
	package) pkgs="$pkgs gcc-mingw-w64-x86-64 nsis dpkg-dev xz-utils lintian file p7zip-full" ;;
	codec-bench) pkgs="$pkgs libvips-tools imagemagick time" ;;
	# wine: packaging/windows/wine-check.sh runs the Windows build under Wine 8
	# (64-bit only: no i386 wine32) with Xvfb; Xvfb's libgl1 brings Mesa's
	# llvmpipe (libgl1-mesa-dri) for Wine's OpenGL. mingw-w64 builds the
	# bcryptprimitives.dll stand-in; the Linux device talks through mosquitto.
	wine) pkgs="$pkgs wine wine64 xvfb libgl1-mesa-dri xdotool x11-utils mosquitto iproute2 gcc-mingw-w64-x86-64 python3 file" ;;
	*) echo "deps.sh: unknown group $group" >&2; exit 2 ;;
	esac
done

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps.sh: please install:$missing (this script knows only apt-get)" >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then sudo=sudo; else
		echo "deps.sh: need root or sudo to install:$missing" >&2; exit 1
	fi
fi
echo "installing:$missing"
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null

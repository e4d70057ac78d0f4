#!/bin/sh
# Builds the .deb with dpkg-deb: /usr/bin/imagebeam, the desktop file, the
# hicolor icons, the man page and the Debian docs. Depends is what
# dpkg-shlibdeps reads from the binary (libc6, libgl1, libx11-6) plus the X11
# libraries GLFW opens with dlopen at run time (cursor shapes, monitors and
# scale, input; see go-gl/glfw's x11_init.c). Reproducible: every time is
# SOURCE_DATE_EPOCH, files are sorted and owned by root.
# Usage: packaging/linux/mkdeb.sh BINARY ICON_GEN DEB_VERSION OUT.deb   (from the repo root)
#   ICON_GEN: assets/icon_gen.go built, prints the icon at -size N.
set -eu
bin=$1 icongen=$2 version=$3 out=$4
: "${SOURCE_DATE_EPOCH:?set SOURCE_DATE_EPOCH (the Makefile takes the commit date)}"
here=packaging/linux
id=org.imagebeam.ImageBeam
maintainer=${DEB_MAINTAINER:-ImageBeam maintainers <maintainers@imagebeam.org>}
dlopened="libx11-xcb1, libxcursor1, libxrandr2, libxinerama1, libxi6, libxxf86vm1, libxrender1"

work=build/deb
root=$work/debian/imagebeam
rm -rf "$work"
umask 022
install -Dm0755 "$bin" "$root/usr/bin/imagebeam"
install -Dm0644 "$here/$id.desktop" "$root/usr/share/applications/$id.desktop"
for s in 16 24 32 48 64 128 256 512; do
	d=$root/usr/share/icons/hicolor/${s}x$s/apps
	mkdir -p "$d"
	"$icongen" -size "$s" > "$d/$id.png"
done
mkdir -p "$root/usr/share/man/man1" "$root/usr/share/doc/imagebeam"
gzip -9n < "$here/imagebeam.1" > "$root/usr/share/man/man1/imagebeam.1.gz"
install -m0644 "$here/copyright" "$root/usr/share/doc/imagebeam/copyright"
date=$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")
printf 'imagebeam (%s) unstable; urgency=medium\n\n  * Release %s, built by make package.\n\n -- %s  %s\n' \
	"$version" "$version" "$maintainer" "$date" | gzip -9n > "$root/usr/share/doc/imagebeam/changelog.gz"

# shlibs: dpkg-shlibdeps wants a source tree (debian/control) and the
# package's root (DEBIAN/).
mkdir -p "$root/DEBIAN"
: > "$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O debian/imagebeam/usr/bin/imagebeam | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "mkdeb: dpkg-shlibdeps found no libraries" >&2; exit 1; }

(cd "$root" && find usr -type f | LC_ALL=C sort | xargs md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
# Installed-Size as dpkg-gencontrol counts it: KiB per file rounded up, 1 per
# directory (du would depend on the file system).
size=$(cd "$root" && find usr -printf '%y %s\n' | awk '{ s += ($1 == "f") ? int(($2 + 1023) / 1024) : 1 } END { print s }')
cat > "$root/DEBIAN/control" <<CONTROL
Package: imagebeam
Version: $version
Architecture: amd64
Maintainer: $maintainer
Installed-Size: $size
Depends: $shlibs, $dlopened
Section: graphics
Priority: optional
Description: push images to lab devices over MQTT
 ImageBeam sends images to lab hardware over MQTT: each image is
 re-encoded to the JPEG the device asks for, split into framed chunks and
 sent stop-and-wait, every chunk acknowledged by the device.
 .
 This package holds the desktop program (a window with previews, a device
 list, transfer progress and history) and the headless commands of the
 same binary: send, convert, simulate, broker, demo and serve.
CONTROL

find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null

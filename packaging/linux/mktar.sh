#!/bin/sh
# Builds the Linux tar.xz in the layout of `fyne package -os linux`
# (fyne.io/tools v1.7.4): a folder imagebeam/ with a Makefile (sudo make
# install: /usr/local; make user-install: ~/.local) and usr/local/{bin,share}.
# It packages the binary `make build` made instead of letting fyne build it
# again, and writes a byte-reproducible archive (sorted, owned by root, every
# time SOURCE_DATE_EPOCH); fyne's own run would also bump Build in FyneApp.toml.
# Usage: packaging/linux/mktar.sh BINARY ICON_PNG OUT.tar.xz   (run from the repo root)
set -eu
bin=$1 icon=$2 out=$3
: "${SOURCE_DATE_EPOCH:?set SOURCE_DATE_EPOCH (the Makefile takes the commit date)}"
here=packaging/linux
id=org.imagebeam.ImageBeam

stage=build/tar
rm -rf "$stage"
top=$stage/imagebeam
install -Dm0755 "$bin" "$top/usr/local/bin/imagebeam"
install -Dm0644 "$here/$id.desktop" "$top/usr/local/share/applications/$id.desktop"
install -Dm0644 "$icon" "$top/usr/local/share/pixmaps/$id.png"
install -Dm0644 "$here/tar.Makefile" "$top/Makefile"

tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
	--mode='go-w' -C "$stage" -cf - imagebeam | xz -6 -T1 > "$out.tmp"
mv "$out.tmp" "$out"

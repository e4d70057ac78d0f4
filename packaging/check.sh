#!/bin/bash
# Checks the packages `make package` left in dist/ (CI runs it after make
# package; `make package-check` runs it by hand):
#   .deb     dpkg-deb -I/-c show the binary, desktop file and icons; every
#            library the binary links is in Depends; lintian has no error;
#            dpkg -i (+ apt-get -f install), then the installed
#            /usr/bin/imagebeam prints its version and sends an image over
#            its own broker to its simulated device, byte-identical
#            (sha256); dpkg -r removes it again.
#   tar.xz   fyne's layout; its Makefile installs under /usr/local and ~/.local;
#            same binary as the .deb.
#   Windows  the installer is PE32+ and 7z lists ImageBeam.exe (GUI
#            subsystem), imagebeam-cli.exe (console) and the uninstaller;
#            both programs carry the version resource and the icon.
# Installing the .deb needs root: without it (and outside CI) that part is
# skipped. Leaves nothing behind but what apt-get -f install added.
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=C.UTF-8 # the Debian servers' locale: no command may warn about it (internal/posixlocale)

version=$(sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)
deb=dist/imagebeam_${version//-/\~}_amd64.deb
tarxz=dist/ImageBeam-$version.tar.xz
setup=dist/ImageBeam-Setup-$version.exe
id=org.imagebeam.ImageBeam

tmp=$(mktemp -d)
pids=()
installed=false
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if $installed; then dpkg -r imagebeam >/dev/null 2>&1 || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "package check FAILED: $*" >&2; exit 1; }
step() { echo "== $*"; }
has() { grep -qF -- "$2" <<<"$1" || fail "$3"; }

for f in "$deb" "$tarxz" "$setup"; do [ -s "$f" ] || fail "$f is missing (run make package)"; done
ls -l dist

# --- the desktop file says what FyneApp.toml says -------------------------------
desktop=packaging/linux/$id.desktop
toml() { sed -n "s/^$1 *= *//p" FyneApp.toml | sed -e 's/^\[//' -e 's/\]$//' -e 's/", *"/;/g' -e 's/"//g'; }
for key in Name GenericName Comment Categories Keywords; do
	want=$(toml "$key")
	case $key in Categories | Keywords) want="$want;" ;; esac
	grep -qxF "$key=$want" "$desktop" || fail "$desktop: $key is not \"$want\" as in FyneApp.toml"
done
grep -qxF "ID = \"$id\"" FyneApp.toml || fail "FyneApp.toml's ID is not $id"
# … and in Chinese for zh_CN desktops, as gui/translations/zh_Hans.json says
# (TestDesktopFileIsTranslated compares the values; FyneApp.toml has no
# translations).
for key in 'Name[zh_CN]' 'GenericName[zh_CN]' 'Comment[zh_CN]' 'Keywords[zh_CN]'; do
	awk -F= -v k="$key" '$1 == k && $2 != "" {found = 1} END {exit !found}' "$desktop" || fail "$desktop has no $key"
done

# --- .deb -------------------------------------------------------------------
step "dpkg-deb -I $deb"
info=$(dpkg-deb -I "$deb")
echo "$info"
has "$info" "Package: imagebeam" "the .deb is not the imagebeam package"
has "$info" "Version: ${version//-/\~}" "the .deb's version is not $version"

step "dpkg-deb -c $deb"
contents=$(dpkg-deb -c "$deb")
echo "$contents"
for f in usr/bin/imagebeam usr/share/applications/$id.desktop \
	usr/share/icons/hicolor/512x512/apps/$id.png usr/share/icons/hicolor/32x32/apps/$id.png \
	usr/share/man/man1/imagebeam.1.gz usr/share/doc/imagebeam/copyright; do
	grep -qE " \./$f\$" <<<"$contents" || fail "the .deb has no /$f"
done
grep -qE '^-rwxr-xr-x root/root .* \./usr/bin/imagebeam$' <<<"$contents" || fail "/usr/bin/imagebeam is not root-owned 0755"

step "Depends covers every library the binary links"
dpkg-deb -x "$deb" "$tmp/deb"
cmp -s "$tmp/deb/usr/share/applications/$id.desktop" "$desktop" || fail "the .deb's desktop file is not $desktop (with its translations)"
depends=$(dpkg-deb -f "$deb" Depends)
for so in $(objdump -p "$tmp/deb/usr/bin/imagebeam" | awk '$1 == "NEEDED" {print $2}'); do
	pkg=$(dpkg -S "*/$so" 2>/dev/null | awk -F: 'NR == 1 {print $1}')
	[ -n "$pkg" ] || fail "no installed package ships $so (needed by the binary)"
	grep -qE "(^|, )$pkg( |,|$)" <<<"$depends" || fail "$so comes from $pkg, which Depends lacks: $depends"
	echo "$so: $pkg"
done

step "lintian $deb"
lint=0
lintian --fail-on error --display-info "$deb" >"$tmp/lintian.txt" 2>&1 || lint=$?
grep -v 'running with root privileges' "$tmp/lintian.txt" || true
[ "$lint" -eq 0 ] || fail "lintian reported errors (exit $lint)"

# --- tar.xz -------------------------------------------------------------------
step "tar.xz: fyne's layout, its Makefile installs"
tar -tJvf "$tarxz"
list=$(tar -tJf "$tarxz")
for f in imagebeam/Makefile imagebeam/usr/local/bin/imagebeam \
	imagebeam/usr/local/share/applications/$id.desktop imagebeam/usr/local/share/pixmaps/$id.png; do
	grep -qx "$f" <<<"$list" || fail "$tarxz has no $f"
done
tar -xJf "$tarxz" -C "$tmp"
cmp -s "$tmp/imagebeam/usr/local/share/applications/$id.desktop" "$desktop" || fail "the tar.xz's desktop file is not $desktop (with its translations)"
cmp -s "$tmp/imagebeam/usr/local/bin/imagebeam" "$tmp/deb/usr/bin/imagebeam" || fail "the tar.xz and the .deb hold different binaries"
mkdir -p "$tmp/sys/usr/local" "$tmp/home"
make -s -C "$tmp/imagebeam" install DESTDIR="$tmp/sys"
make -s -C "$tmp/imagebeam" user-install HOME="$tmp/home"
for f in sys/usr/local/bin/imagebeam sys/usr/local/share/applications/$id.desktop sys/usr/local/share/pixmaps/$id.png \
	home/.local/bin/imagebeam home/.local/share/applications/$id.desktop home/.local/share/icons/$id.png; do
	[ -e "$tmp/$f" ] || fail "the tar.xz's Makefile did not install $f"
done
grep -q "^Exec=$tmp/home/.local/bin/imagebeam" "$tmp/home/.local/share/applications/$id.desktop" ||
	fail "make user-install did not point the desktop file at ~/.local/bin"
make -s -C "$tmp/imagebeam" uninstall DESTDIR="$tmp/sys"
[ ! -e "$tmp/sys/usr/local/bin/imagebeam" ] || fail "make uninstall left the binary"

# --- Windows ------------------------------------------------------------------
step "Windows installer: file, 7z l"
kind=$(file -b "$setup")
echo "$setup: $kind"
[[ $kind == "PE32+ executable (GUI) x86-64"* ]] || fail "$setup is not a PE32+ (x86-64) executable"
listing=$(7z l "$setup")
echo "$listing"
has "$listing" "NSIS-3 Unicode 64-bit" "7z does not see a 64-bit NSIS installer"
for f in ImageBeam.exe imagebeam-cli.exe uninstall.exe; do
	grep -qE " $f\$" <<<"$listing" || fail "the installer does not hold $f"
done
7z x -y -o"$tmp/win" "$setup" ImageBeam.exe imagebeam-cli.exe >/dev/null
for exe in ImageBeam.exe:GUI imagebeam-cli.exe:console; do
	f=$tmp/win/${exe%%:*} subsystem=${exe#*:}
	kind=$(file -b "$f")
	echo "${exe%%:*}: $kind"
	[[ $kind == "PE32+ executable ($subsystem) x86-64"* ]] || fail "${exe%%:*} is not a $subsystem-subsystem PE32+ program"
	strings -el "$f" | grep -x "$version" >/dev/null || fail "${exe%%:*} has no version resource saying $version"
	res=$(7z l "$f")
	has "$res" ".rsrc/ICON/" "${exe%%:*} has no icon"
	has "$res" ".rsrc/version.txt" "${exe%%:*} has no version resource"
	has "$res" ".rsrc/MANIFEST/" "${exe%%:*} has no manifest"
done

# --- install the .deb and use it ----------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
	[ -z "${CI:-}" ] || fail "CI must run as root to install the .deb"
	echo "== not root: skipping dpkg -i and the installed binary's checks"
	echo "package checks passed (without installing)"
	exit 0
fi
if dpkg-query -W -f='${Status}' imagebeam 2>/dev/null | grep -q "ok installed"; then
	fail "imagebeam is already installed here; remove it first (dpkg -r imagebeam)"
fi

step "dpkg -i $deb"
installed=true
if ! dpkg -i "$deb"; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get -f install -y -qq
fi
dpkg-query -W -f='${Status}\n' imagebeam | grep -q "ok installed" || fail "the .deb did not install"

step "/usr/bin/imagebeam version"
out=$(/usr/bin/imagebeam version)
echo "$out"
[[ $out == "ImageBeam $version (commit "* ]] || fail "imagebeam version printed: $out"
[[ $out != *unknown* ]] || fail "the installed binary lacks its commit or date: $out"

step "headless send with the installed binary: broker, simulate, send --raw"
# Settings and device locks in the temporary folder, not the user's.
export IMAGEBEAM_CONFIG=$tmp/settings.json XDG_CACHE_HOME=$tmp/cache XDG_CONFIG_HOME=$tmp/config
. packaging/wait-line.sh
mkfifo "$tmp/broker.err" "$tmp/sim.err"
# Port 0: the broker takes a free port and says which.
/usr/bin/imagebeam broker --listen 127.0.0.1:0 2>"$tmp/broker.err" >/dev/null &
pids+=($!)
exec 3<"$tmp/broker.err"
line=$(wait_line 3 "listening on tcp://" 30) || fail "the broker did not start"
url=$(grep -o 'tcp://[0-9.]*:[0-9]*' <<<"$line")
cat <&3 >/dev/null &
pids+=($!)

/usr/bin/imagebeam simulate --broker "$url" --count 1 --linger 200ms --out "$tmp/received" \
	>"$tmp/sim.json" 2>"$tmp/sim.err" &
sim=$!
pids+=($sim)
exec 4<"$tmp/sim.err"
wait_line 4 "listening on" 30 >/dev/null || fail "the simulated device did not start"
cat <&4 >/dev/null &
pids+=($!)

img=$tmp/deb/usr/share/icons/hicolor/512x512/apps/$id.png
timeout 60 /usr/bin/imagebeam send --raw --broker "$url" --name icon.png "$img" || fail "imagebeam send failed"
timeout 30 tail --pid="$sim" -f /dev/null || fail "the simulated device did not exit after one image"
wait "$sim" || fail "the simulated device failed"
cat "$tmp/sim.json"
want=$(sha256sum <"$img" | cut -d' ' -f1)
got=$(sha256sum <"$(ls "$tmp"/received/*)" | cut -d' ' -f1)
[ "$want" = "$got" ] || fail "received sha256 $got, sent $want"
grep -q "\"sha256\":\"$want\"" "$tmp/sim.json" || fail "the simulated device reported another sha256"
echo "sent and received sha256 $want"

step "dpkg -r imagebeam"
dpkg -r imagebeam >/dev/null
installed=false
[ ! -e /usr/bin/imagebeam ] || fail "dpkg -r left /usr/bin/imagebeam"
echo "package checks passed"

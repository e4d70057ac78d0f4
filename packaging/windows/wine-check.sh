#!/bin/bash
# Runs the Windows build that `make package` left in dist/ and build/windows/
# under Wine (Debian 12's Wine 8, 64-bit only), on a private Wine prefix in a
# temporary folder, with the Linux ./imagebeam as the device:
#   cli      build/windows/imagebeam-cli.exe: `version` prints FyneApp.toml's
#            version; `convert` makes a baseline JPEG of the 512 px icon;
#            `send --raw` and `send` (through the image pipeline) reach the
#            Linux simulated device through a Mosquitto on a free loopback
#            port, byte-identical (sha256 of what the device saved).
#   install  ImageBeam-Setup-<version>.exe /S: both programs and the
#            uninstaller, the Start-menu entries "ImageBeam" and "ImageBeam
#            command line", the desktop shortcut, the uninstall registry key;
#            the installed imagebeam-cli.exe is build/windows' and prints the
#            version.
#   window   the installed ImageBeam.exe under Xvfb (Mesa's llvmpipe through
#            Wine's OpenGL): its window appears; on this first start it writes
#            %AppData%\imagebeam\settings.json with the "Simulated device",
#            starts its built-in broker and simulated device (the Linux
#            ./imagebeam sends an image to it); a screenshot goes to $SHOT when
#            set (ImageMagick's import); WM_CLOSE (taskkill) ends it, exit 0.
#   settings the console and the window programs share one settings file: a
#            device "Wine bench" added to it is what the installed
#            `imagebeam-cli.exe send --device "Wine bench"` uses (sha256 at
#            the Linux device), and its lock file is in
#            %LocalAppData%\imagebeam\locks.
#   uninstall the QuietUninstallString from the registry removes the
#            programs, shortcuts and registry keys, and keeps the settings.
# What only a real Windows can check: the code signature and SmartScreen's
# verdict, per-monitor DPI scaling (Wine has one DPI), the GPU drivers' OpenGL,
# the UAC prompt and "Install just for me" as a standard user (Wine's user is
# an administrator), Windows Defender, and Windows' own file-locking rules.
#
# Wine 8 lacks bcryptprimitives.dll, where Go 1.22+ programs get their random
# bytes (ProcessPrng): packaging/windows/wine/bcryptprimitives.c, built here
# with mingw-w64, stands in for it in the prefix's system32.
#
# Needs root or sudo for scripts/deps.sh wine when packages are missing.
# WINEDEBUG=err+all (for example) shows Wine's messages; WINE_CHECK_KEEP=1
# keeps the temporary folder (prefix, logs) for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"
export LANG=C.UTF-8 # UTF-8 file names for Wine; the Linux imagebeam prints no locale warning under it
unset WINEPREFIX # only the private prefix below, never the user's

t_start=${EPOCHREALTIME/./}
timings=()
step_name="" step_t=0
# tenths SINCE: seconds (one decimal) from a ${EPOCHREALTIME/./} value to now.
tenths() { local d=$(((${EPOCHREALTIME/./} - $1) / 100000)); printf '%d.%d' $((d / 10)) $((d % 10)); }
step_end() {
	[ -n "$step_name" ] || return 0
	local d
	d=$(tenths "$step_t")
	echo "   ($d s)"
	timings+=("$(printf '%7s s  %s' "$d" "$step_name")")
	step_name=""
}
step() { step_end; step_name=$1 step_t=${EPOCHREALTIME/./}; echo "== $1"; }
fail() { echo "wine check FAILED${step_name:+ ($step_name)}: $*" >&2; exit 1; }

version=$(sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)
setup=dist/ImageBeam-Setup-$version.exe
cli_built=build/windows/imagebeam-cli.exe
for f in "$setup" "$cli_built" imagebeam; do [ -s "$f" ] || fail "$f is missing (run make package)"; done
[ -x imagebeam ] || fail "./imagebeam is not executable"

tmp=$(mktemp -d)
pids=()
prefix=""
cleanup() {
	local rc=$?
	trap - EXIT
	if [ -n "$prefix" ] && [ -d "$prefix" ]; then WINEPREFIX=$prefix timeout 30 wineserver -k 2>/dev/null || true; fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$rc" -ne 0 ]; then
		for log in "$tmp"/*.log; do
			[ -s "$log" ] || continue
			echo "--- last lines of ${log##*/}:" >&2
			tail -n 20 "$log" >&2
		done
	fi
	if [ -n "${WINE_CHECK_KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. packaging/wait-line.sh
sha() { sha256sum <"$1" | cut -d' ' -f1; }
# The Windows name of a Unix path: Wine's Z: drive is /.
winpath() { local p; p=$(realpath -m "$1"); printf 'Z:%s' "${p//\//\\}"; }
# The Unix name of a Windows path on C: (inside the prefix).
unixpath() {
	local p=${1//\\//}
	[[ ${p,,} == c:/* ]] || fail "$1 is not on C:"
	printf '%s/drive_c/%s' "$WINEPREFIX" "${p:3}"
}
# gone PATH...: fail if any of them still exists.
gone() { for p in "$@"; do [ ! -e "$p" ] || fail "the uninstaller left $p"; done; }

# --- packages -------------------------------------------------------------------
step "scripts/deps.sh wine; the test image"
scripts/deps.sh wine

# The test image: the 512 px icon (made before HOME moves: go run keeps its caches there).
img=$tmp/icon.png
if [ -x build/icon_gen ]; then build/icon_gen >"$img"; else go run assets/icon_gen.go >"$img"; fi
[ -s "$img" ] || fail "no test image"

# --- Xvfb: first, so that every Wine process (and Wine's desktop process,
# explorer.exe, which picks the display driver for the whole prefix) uses it.
step "Xvfb"
mkfifo "$tmp/xvfb.fd"
exec 5<>"$tmp/xvfb.fd" # read-write: opening never blocks
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset 3>"$tmp/xvfb.fd" 2>"$tmp/xvfb.log" &
pids+=($!)
read -r -t 30 -u 5 display || fail "Xvfb did not start"
exec 5<&-
export DISPLAY=:$display
echo "Xvfb on $DISPLAY"

# --- the Wine prefix ----------------------------------------------------------
step "wineboot: a fresh prefix"
# Everything Wine writes stays in $tmp: the prefix, and the "Desktop" and
# other folders Wine links to $HOME. The Windows programs must not see the
# settings overrides the Linux ones take (Wine passes the environment on).
prefix=$tmp/prefix
export HOME=$tmp/home WINEPREFIX=$prefix WINEARCH=win64
export WINEDEBUG=${WINEDEBUG:--all}
# No Mono or Gecko installers (mscoree, mshtml), no Linux menu entries for the
# shortcuts the installer makes (winemenubuilder). No XInput: GLFW loads
# xinput1_4.dll at start and frees it at exit, and Wine 8's xinput lets its
# update thread run on after the DLL is unmapped (about one exit in seven
# ends in "Unhandled page fault on execute access" inside xinput1_4.dll;
# later Wine versions pin the module); GLFW does without it, ImageBeam has no
# use for game controllers.
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d;xinput1_1,xinput1_2,xinput1_3,xinput1_4,xinput9_1_0="
unset IMAGEBEAM_CONFIG IMAGEBEAM_PASSWORD IMAGEBEAM_TOKEN XDG_CONFIG_HOME XDG_CACHE_HOME XDG_DATA_HOME
mkdir -p "$HOME"
wine --version
# Without wine32 (i386) wineboot says it cannot start syswow64's rundll32: harmless.
timeout 180 wineboot --init 2>"$tmp/wineboot.log" || fail "wineboot failed ($?)"
[ "$(readlink "$WINEPREFIX/dosdevices/z:")" = / ] || fail "the prefix's Z: drive is not /"
# A program that crashes ends at once ("wine: Unhandled ..." on its stderr)
# instead of starting winedbg (Wine's default when Debugger is unset too),
# which can hang attaching to a program that crashed while exiting and then
# keeps the prefix's wineserver alive.
timeout 60 wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' /v Debugger /d '' /f >/dev/null ||
	fail "could not turn off Wine's crash debugger"
env=$(timeout 60 wine cmd /c set | tr -d '\r') || fail "wine cmd /c set failed"
winenv() { sed -n "s/^$1=//Ip" <<<"$env" | head -n 1; }
appdata=$(unixpath "$(winenv APPDATA)")
localappdata=$(unixpath "$(winenv LOCALAPPDATA)")
programdata=$(unixpath "$(winenv ProgramData)")
public=$(unixpath "$(winenv PUBLIC)")
echo "AppData: $appdata"
echo "LocalAppData: $localappdata"
# Let the new prefix settle: right after wineboot, services.exe is still
# starting the prefix's services, and a program that needs RpcSs meanwhile
# (the installer's explorer.exe /desktop) waits 10 s for it in vain
# ("err:ole:start_rpcss Failed to start RpcSs service"), twice more for the
# uninstaller: 13 s more per run. The wineserver ends once all that is done.
timeout 120 wineserver -w || fail "the new prefix's wineserver did not settle within 120 s"

step "bcryptprimitives.dll (ProcessPrng) with mingw-w64"
x86_64-w64-mingw32-gcc -shared -O2 -s -nostdlib -Wall -Wextra -Werror -Wl,-e,DllMain \
	-o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
	packaging/windows/wine/bcryptprimitives.c packaging/windows/wine/bcryptprimitives.def -ladvapi32 -lkernel32
x86_64-w64-mingw32-objdump -p "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" | grep -qw ProcessPrng ||
	fail "the DLL does not export ProcessPrng"

# --- Mosquitto and the Linux simulated device ---------------------------------
step "mosquitto and ./imagebeam simulate"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=tcp://127.0.0.1:$port
mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n' \
	"$port" >"$tmp/mosquitto.conf"
mkfifo "$tmp/mosquitto.err" "$tmp/sim.err" "$tmp/sim.json"
# Opened read-write before the writers start: opening a FIFO then never blocks.
exec 3<>"$tmp/mosquitto.err" 4<>"$tmp/sim.err" 6<>"$tmp/sim.json"
"$mosquitto" -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.err" &
pids+=($!)
wait_line 3 " running" 15 >/dev/null || fail "mosquitto did not start on $url"
cat <&3 >"$tmp/mosquitto.log" &
pids+=($!)
echo "mosquitto on $url"

# One device for the whole run: the Windows cli's two sends and the "Wine
# bench" device's send, on topics of its own.
to_dev=imagebeam/wine-check/to-device from_dev=imagebeam/wine-check/from-device
mkdir -p "$tmp/linux"
IMAGEBEAM_CONFIG=$tmp/linux/settings.json XDG_CACHE_HOME=$tmp/linux/cache \
	./imagebeam simulate --broker "$url" --to-device "$to_dev" --from-device "$from_dev" \
	--count 3 --linger 500ms --out "$tmp/received" >"$tmp/sim.json" 2>"$tmp/sim.err" &
sim=$!
pids+=("$sim")
wait_line 4 "listening on" 30 >/dev/null || fail "the simulated device did not start"
cat <&4 >"$tmp/sim.log" &
pids+=($!)
# received NAME SHA: wait for the device's line for NAME; check it is complete
# and that the device reported and saved SHA.
received() {
	local line path
	line=$(wait_line 6 "\"name\":\"$1\"" 30) || fail "the device did not report $1"
	[[ $line == *'"complete":true'* ]] || fail "the device holds an incomplete $1: $line"
	[[ $line == *"\"sha256\":\"$2\""* ]] || fail "the device reported another sha256 for $1 than $2: $line"
	path=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["path"])' "$line")
	[ "$(sha "$path")" = "$2" ] || fail "the device saved $path with sha256 $(sha "$path"), sent $2"
	echo "the device holds $1, sha256 $2"
}

# --- the console program, before any install -------------------------------
step "imagebeam-cli.exe version"
cli=$tmp/cli/imagebeam-cli.exe
mkdir -p "$tmp/cli"
cp "$cli_built" "$cli"
out=$(timeout 60 wine "$cli" version | tr -d '\r') || fail "imagebeam-cli.exe version failed ($?)"
echo "$out"
[[ $out == "ImageBeam $version (commit "* ]] || fail "imagebeam-cli.exe version printed: $out"
[[ $out != *unknown* ]] || fail "imagebeam-cli.exe lacks its commit or date: $out"

step "imagebeam-cli.exe convert (the 512 px icon)"
timeout 60 wine "$cli" convert "$(winpath "$img")" "$(winpath "$tmp/icon.jpg")" | tr -d '\r' ||
	fail "imagebeam-cli.exe convert failed"
kind=$(file -b "$tmp/icon.jpg")
echo "icon.jpg: $kind"
[[ $kind == "JPEG image data"* ]] || fail "convert did not write a JPEG: $kind"
[[ $kind == *baseline* ]] || fail "convert wrote a JPEG that is not baseline: $kind"
IMAGEBEAM_CONFIG=$tmp/linux/settings.json ./imagebeam convert "$img" "$tmp/icon-linux.jpg" >/dev/null
if cmp -s "$tmp/icon.jpg" "$tmp/icon-linux.jpg"; then
	echo "same bytes as the Linux build's convert"
else
	echo "note: the Linux build's convert made other bytes ($(stat -c %s "$tmp/icon-linux.jpg") vs $(stat -c %s "$tmp/icon.jpg"))"
fi

step "imagebeam-cli.exe send --raw to the Linux device"
timeout 90 wine "$cli" send --raw --broker "$url" --to-device "$to_dev" --from-device "$from_dev" \
	--name raw.png "$(winpath "$img")" 2>&1 | tr -d '\r' || fail "imagebeam-cli.exe send --raw failed"
received raw.png "$(sha "$img")"

step "imagebeam-cli.exe send (image pipeline) to the Linux device"
# Without --raw the device gets the JPEG the default profile asks for: the
# same bytes convert wrote above with the same (default) profile.
timeout 90 wine "$cli" send --broker "$url" --to-device "$to_dev" --from-device "$from_dev" \
	--name converted.jpg "$(winpath "$img")" 2>&1 | tr -d '\r' || fail "imagebeam-cli.exe send failed"
received converted.jpg "$(sha "$tmp/icon.jpg")"

# --- install -------------------------------------------------------------------
step "ImageBeam-Setup-$version.exe /S"
[ ! -e "$appdata/imagebeam/settings.json" ] || fail "a settings file exists before the window's first start"
timeout 120 wine "$setup" /S || fail "the installer failed ($?)"
# Wine's user is an administrator: MultiUser installs for all users (HKLM,
# Program Files, the common Start menu and desktop), as it does on Windows for
# an administrator who keeps the default.
key='Software\Microsoft\Windows\CurrentVersion\Uninstall\org.imagebeam.ImageBeam'
reg=$(timeout 60 wine reg query "HKLM\\$key" | tr -d '\r') || fail "no uninstall key HKLM\\$key"
echo "$reg"
regval() { awk -v k="$1" '$1 == k { sub(/^[ \t]*[^ \t]+[ \t]+REG_[A-Z_]+[ \t]+/, ""); print; exit }' <<<"$reg"; }
[ "$(regval DisplayName)" = ImageBeam ] || fail "DisplayName is not ImageBeam"
[ "$(regval DisplayVersion)" = "$version" ] || fail "DisplayVersion is not $version"
instdir=$(unixpath "$(regval InstallLocation)")
quiet=$(regval QuietUninstallString)
[[ $quiet == *'uninstall.exe" /AllUsers /S' ]] || fail "QuietUninstallString is $quiet"
[ "$instdir" = "$WINEPREFIX/drive_c/Program Files/ImageBeam" ] || fail "installed in $instdir, not Program Files\\ImageBeam"
for f in ImageBeam.exe imagebeam-cli.exe uninstall.exe; do
	[ -s "$instdir/$f" ] || fail "the installer did not install $f"
done
cmp -s "$instdir/imagebeam-cli.exe" "$cli_built" || fail "the installed imagebeam-cli.exe is not $cli_built"
cmp -s "$instdir/ImageBeam.exe" build/windows/ImageBeam.exe || fail "the installed ImageBeam.exe is not build/windows'"
startmenu="$programdata/Microsoft/Windows/Start Menu/Programs/ImageBeam"
desktop_lnk="$public/Desktop/ImageBeam.lnk"
lnks=("$startmenu/ImageBeam.lnk" "$startmenu/ImageBeam command line.lnk" "$desktop_lnk")
for l in "${lnks[@]}"; do
	[ -s "$l" ] || fail "no shortcut $l"
	echo "${l#"$WINEPREFIX/"}: $(file -b "$l" | cut -c1-60)"
done
strings -el "$startmenu/ImageBeam command line.lnk" | grep -q 'imagebeam-cli.exe help' ||
	fail "the command-line shortcut does not run imagebeam-cli.exe help"
timeout 60 wine reg query 'HKLM\Software\ImageBeam' /v InstallMode | tr -d '\r' | grep -q AllUsers ||
	fail "HKLM\\Software\\ImageBeam has no InstallMode AllUsers"

step "installed imagebeam-cli.exe version"
out=$(timeout 60 wine "$instdir/imagebeam-cli.exe" version | tr -d '\r') || fail "the installed imagebeam-cli.exe version failed"
echo "$out"
[[ $out == "ImageBeam $version (commit "* ]] || fail "the installed imagebeam-cli.exe version printed: $out"

# --- the window ------------------------------------------------------------------
step "installed ImageBeam.exe: the window's first start"
wine "$instdir/ImageBeam.exe" >"$tmp/gui.log" 2>&1 &
gui=$!
pids+=("$gui")
wid=$(timeout 120 xdotool search --sync --onlyvisible --name '^ImageBeam$' | head -n 1) ||
	fail "no ImageBeam window appeared within 120 s"
xwininfo -id "$wid" | grep -E 'Width|Height|Map State' | sed 's/^ */  /'
xwininfo -id "$wid" | grep -q 'Map State: IsViewable' || fail "the window is not viewable"
# First start: the settings file with the simulated device, written at once.
settings=$appdata/imagebeam/settings.json
deadline=$((SECONDS + 60))
until [ -s "$settings" ] && grep -q '"Simulated device"' "$settings"; do
	((SECONDS < deadline)) || fail "the window wrote no settings with the \"Simulated device\" to $settings"
	kill -0 "$gui" 2>/dev/null || fail "ImageBeam.exe exited"
	sleep 0.5
done
echo "settings: ${settings#"$WINEPREFIX/"}"
# Its built-in broker (127.0.0.1:1883, or a free port when 1883 is taken):
# under Wine the wineserver holds the listening socket, so the port is the one
# the window's own clients (its connection and its simulated device) are
# connected to, where a wineserver listens. The simulated device inside the
# window then answers a send from Linux.
broker_port() {
	local p
	for p in $(ss -Htnp state established 2>/dev/null | grep -F "pid=$gui," |
		awk '{ n = split($4, a, ":"); print a[n] }' | sort -u); do
		ss -Hltnp "sport = :$p" 2>/dev/null | grep -q wineserver && { echo "$p"; return 0; }
	done
	return 1
}
ss -Htnp state established >/dev/null 2>&1 || fail "ss (iproute2) cannot list sockets"
deadline=$((SECONDS + 60))
until gport=$(broker_port); do
	((SECONDS < deadline)) || fail "ImageBeam.exe's built-in broker and simulated device are not connected"
	kill -0 "$gui" 2>/dev/null || fail "ImageBeam.exe exited"
	sleep 0.5
done
echo "built-in broker on 127.0.0.1:$gport"
IMAGEBEAM_CONFIG=$tmp/linux/settings.json XDG_CACHE_HOME=$tmp/linux/cache \
	timeout 90 ./imagebeam send --raw --broker "tcp://127.0.0.1:$gport" --reconnect-wait 30s \
	--to-device imagebeam/sim/to-device --from-device imagebeam/sim/from-device --name from-linux.png "$img" ||
	fail "the window's simulated device did not take an image from Linux"
if [ -n "${SHOT:-}" ]; then
	if command -v import >/dev/null && import -version 2>/dev/null | grep -q ImageMagick; then
		import -window root "$SHOT" && echo "screenshot: $SHOT"
	else
		echo "no ImageMagick (import): no screenshot"
	fi
fi

step "close the window (WM_CLOSE)"
timeout 60 wine taskkill /im ImageBeam.exe | tr -d '\r' || fail "taskkill failed"
if ! timeout 60 tail --pid="$gui" -f /dev/null; then
	if xdotool search --name '^ImageBeam$' >/dev/null 2>&1; then
		fail "ImageBeam.exe's window is still open 60 s after WM_CLOSE"
	fi
	# Seen about once in 20-100 closes with Fyne 2.7.1: the main goroutine waits
	# in Lifecycle.WaitForEvents for a lifecycle event (the window's focus loss)
	# that was queued for the main loop after its last drain.
	fail "ImageBeam.exe closed its window but did not exit within 60 s of WM_CLOSE (hung at exit)"
fi
rc=0
wait "$gui" || rc=$?
if [ -s "$tmp/gui.log" ]; then echo "ImageBeam.exe's stderr:"; sed 's/^/  | /' "$tmp/gui.log"; fi
[ "$rc" -eq 0 ] || fail "ImageBeam.exe exited with $rc"
! grep -q 'Unhandled' "$tmp/gui.log" || fail "ImageBeam.exe crashed"
echo "ImageBeam.exe exited (0)"

# --- one settings file for both programs -----------------------------------------
step "settings shared: send --device \"Wine bench\" with the installed cli"
python3 - "$settings" "$to_dev" "$from_dev" <<'EOF'
import json, sys
path, to_dev, from_dev = sys.argv[1:]
with open(path) as f:
    s = json.load(f)
names = [d["name"] for d in s["devices"]]
assert "Simulated device" in names, names
s["devices"].append({"name": "Wine bench", "to_device": to_dev, "from_device": from_dev,
                     "begin_name": "bench.png", "chunk": 1000, "timeout": "5s", "retries": 10, "qos": 0,
                     "image": {"fit": "contain", "quality": 85}})
with open(path, "w") as f:
    json.dump(s, f, indent=2)
EOF
timeout 90 wine "$instdir/imagebeam-cli.exe" send --device "Wine bench" --broker "$url" --raw "$(winpath "$img")" 2>&1 |
	tr -d '\r' || fail "imagebeam-cli.exe send --device \"Wine bench\" failed"
received bench.png "$(sha "$img")"
# The device's lock: <LocalAppData>\imagebeam\locks\<first 8 bytes of sha256(key), hex>.lock
lock=$localappdata/imagebeam/locks/$(printf '%s' "$url $to_dev $from_dev" | sha256sum | cut -c1-16).lock
[ -e "$lock" ] || fail "no lock file $lock; the locks folder holds: $(find "$localappdata/imagebeam" 2>&1 | tr '\n' ' ')"
echo "lock: ${lock#"$WINEPREFIX/"}"
timeout 30 tail --pid="$sim" -f /dev/null || fail "the simulated device did not exit after three images"
wait "$sim" || fail "the simulated device failed"

# --- uninstall -------------------------------------------------------------------
step "uninstall: the registry's QuietUninstallString"
echo "$quiet"
# NSIS's uninstaller copies itself to %TEMP% and returns at once: wait for the
# prefix's wineserver, which ends when the copy has.
uninst=${quiet#\"} && uninst=${uninst%%\"*}
read -ra uargs <<<"${quiet#\"*\" }"
timeout 60 wine "$(unixpath "$uninst")" "${uargs[@]}" || fail "the uninstaller failed ($?)"
timeout 120 wineserver -w || fail "the uninstaller did not finish within 120 s"
gone "$instdir/ImageBeam.exe" "$instdir/imagebeam-cli.exe" "$instdir/uninstall.exe" "$instdir" "${lnks[@]}" "$startmenu"
for k in "HKLM\\$key" 'HKLM\Software\ImageBeam'; do
	if timeout 60 wine reg query "$k" >/dev/null 2>&1; then fail "the uninstaller left the registry key $k"; fi
done
grep -q '"Wine bench"' "$settings" || fail "the uninstaller did not keep the settings"
echo "programs, shortcuts and registry keys removed; settings kept"
step_end

echo "timings:"
printf '%s\n' "${timings[@]}"
echo "wine check passed in $(tenths "$t_start") s"

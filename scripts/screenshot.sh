#!/bin/sh
# Builds ImageBeam, runs it under Xvfb with an image loaded and writes PNG
# screenshots of the main states to docs/screenshots/ (or $OUT), in the
# dark theme and, for the preview and a finished send, the light one; then
# the same states in Simplified Chinese (zh-*.png, IMAGEBEAM_LANG=zh_Hans),
# at 1280×800 and 1024×640, with a Chinese file name and device names. Prints
# the time from starting the binary to a drawn window.
#
# Usage: scripts/screenshot.sh [IMAGE]   (default: a generated 2400×1600 picture)
# Needs: the gui, shot and cjk packages (scripts/deps.sh gui shot cjk: the
# window ships its own Chinese font; fonts-noto-cjk draws the Chinese of the
# file and device names beyond it), which it installs when missing.
set -eu
cd "$(dirname "$0")/.."
export LANG=C.UTF-8
OUT=${OUT:-docs/screenshots}
DISPLAY_NUM=${DISPLAY_NUM:-99}
W=1280
H=800

scripts/deps.sh gui shot cjk
if ! command -v xdotool >/dev/null 2>&1; then
	echo "installing xdotool (sends the keys and resizes the window)"
	sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get install -y -qq --no-install-recommends xdotool >/dev/null
fi

make --no-print-directory build # the same flags as make test and make package: a warm build
mkdir -p "$OUT"
tmp=$(mktemp -d)
xvfb_pid=""
app_pid=""
stop() { [ -z "$1" ] || { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; } || true; }
cleanup() {
	stop "$app_pid"
	stop "$xvfb_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

img=${1:-}
if [ -z "$img" ]; then
	img="$tmp/sample.jpg"
	convert -size 2400x1600 plasma:fractal -blur 0x3 -quality 92 "$img"
fi

# A first start's settings, with the simulated device asking for a larger
# image than usual, so the transfer lasts long enough to be photographed,
# and a real-hardware device to show the list.
cat >"$tmp/settings.json" <<'EOF'
{
  "version": 1,
  "broker": {"builtin": true, "listen": "127.0.0.1:0"},
  "devices": [
    {"name": "Simulated device", "to_device": "imagebeam/sim/to-device", "from_device": "imagebeam/sim/from-device",
     "timeout": "1s", "adaptive": true, "simulated": true,
     "image": {"width": 1600, "height": 1000, "fit": "contain", "quality": 95}},
    {"name": "BASE bench 3", "to_device": "mqttTestPub", "from_device": "mqttTestSub",
     "image": {"width": 800, "height": 480, "fit": "cover", "quality": 85}}
  ]
}
EOF

Xvfb ":$DISPLAY_NUM" -screen 0 "${W}x${H}x24" -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
export DISPLAY=":$DISPLAY_NUM"
i=0
until xdpyinfo >/dev/null 2>&1; do
	kill -0 "$xvfb_pid" 2>/dev/null || { echo "Xvfb :$DISPLAY_NUM did not start (display in use? set DISPLAY_NUM)" >&2; exit 1; }
	i=$((i + 1)); [ $i -lt 100 ] || { echo "Xvfb did not start" >&2; exit 1; }
	sleep 0.05
done

shot() { import -window root "$OUT/$1.png"; echo "wrote $OUT/$1.png"; }
# small NAME: the top-left 1024×640 of the screen, where the window is then.
small() { import -window root -crop 1024x640+0+0 +repage "$OUT/$1.png"; echo "wrote $OUT/$1.png"; }

# Startup: from exec to the first screenshot whose pixels are not uniform.
start=$(date +%s%N)
HOME="$tmp" IMAGEBEAM_CONFIG="$tmp/settings.json" ./imagebeam "$img" >"$tmp/app.log" 2>&1 &
app_pid=$!
wid=""
while :; do
	now=$(date +%s%N)
	[ $(((now - start) / 1000000)) -lt 20000 ] || { echo "no window after 20 s" >&2; cat "$tmp/app.log" >&2; exit 1; }
	kill -0 "$app_pid" 2>/dev/null || { echo "imagebeam exited:" >&2; tail -20 "$tmp/app.log" >&2; exit 1; }
	[ -n "$wid" ] || wid=$(xdotool search --onlyvisible --name '^ImageBeam$' 2>/dev/null | head -1 || true)
	if [ -n "$wid" ]; then
		sd=$(import -window root -depth 8 -resize 10% png:- 2>/dev/null | convert png:- -format '%[fx:standard_deviation]' info: 2>/dev/null || echo 0)
		if [ "$(echo "$sd > 0.02" | bc 2>/dev/null || awk "BEGIN{print ($sd > 0.02)}")" = 1 ]; then
			break
		fi
	fi
	sleep 0.02
done
drawn=$(date +%s%N)
echo "startup to drawn window: $(((drawn - start) / 1000000)) ms (polled every ~50 ms, so an upper bound)"

sleep 2 # the preview decodes in the background
shot idle-preview

xdotool key --window "$wid" ctrl+Return
sleep 1.2
shot sending
sleep 6
shot done

# The History tab (tab positions for the 1280-pixel-wide first layout).
xdotool mousemove --window "$wid" 1030 67 click 1
sleep 0.5
shot history
xdotool mousemove --window "$wid" 930 67 click 1

xdotool windowsize "$wid" 1024 640
sleep 1
small small-1024x640

# The device dialog (Edit, with the first device selected).
xdotool windowsize "$wid" $W $H
sleep 0.7
xdotool mousemove --window "$wid" 232 697 click 1
sleep 0.7
shot device-dialog

# The broker-down state: an external broker nobody listens on.
stop "$app_pid"
cat >"$tmp/settings-down.json" <<'EOF'
{"version": 1, "broker": {"builtin": false, "url": "tcp://127.0.0.1:9"},
 "devices": [{"name": "BASE bench 3", "to_device": "mqttTestPub", "from_device": "mqttTestSub"}]}
EOF
HOME="$tmp" IMAGEBEAM_CONFIG="$tmp/settings-down.json" ./imagebeam "$img" >"$tmp/app2.log" 2>&1 &
app_pid=$!
sleep 4
shot broker-down
wid=$(xdotool search --onlyvisible --name '^ImageBeam$' | head -1)
xdotool mousemove --window "$wid" 1185 21 click 1
sleep 0.7
shot broker-dialog

# The light theme (Windows' default): ImageBeam follows the system's light
# or dark setting; FYNE_THEME=light stands in for it here.
stop "$app_pid"
mkdir -p "$tmp/light" # a history of its own: the same image again would ask first
FYNE_THEME=light HOME="$tmp/light" IMAGEBEAM_CONFIG="$tmp/settings.json" ./imagebeam "$img" >"$tmp/app3.log" 2>&1 &
app_pid=$!
wid=$(timeout 20 xdotool search --sync --onlyvisible --name '^ImageBeam$' | head -1) || { echo "no light-theme window" >&2; exit 1; }
sleep 2 # the preview decodes in the background
shot light-idle-preview
xdotool key --window "$wid" ctrl+Return
sleep 7
shot light-done

# A small copy of the finished transfer for the README.
convert "$OUT/done.png" -resize 1024x -colors 256 "PNG8:$OUT/imagebeam.png"
echo "wrote $OUT/imagebeam.png (for the README)"

# --- 简体中文 (Simplified Chinese): the same states, at 1280×800 and 1024×640.
stop "$app_pid"
mkdir -p "$tmp/zh"
zhimg="$tmp/zh/显微镜样品-01.jpg" # a Chinese file name: drawn with the system's CJK font
cp "$img" "$zhimg"
sed -e 's/"Simulated device"/"模拟设备"/' -e 's/"BASE bench 3"/"BASE 实验台 3"/' "$tmp/settings.json" >"$tmp/zh/settings.json"
IMAGEBEAM_LANG=zh_Hans HOME="$tmp/zh" IMAGEBEAM_CONFIG="$tmp/zh/settings.json" ./imagebeam "$zhimg" >"$tmp/app4.log" 2>&1 &
app_pid=$!
wid=$(timeout 20 xdotool search --sync --onlyvisible --name '^ImageBeam$' | head -1) || { echo "no Chinese window" >&2; exit 1; }
sleep 2
shot zh-idle-preview
xdotool key --window "$wid" ctrl+Return
sleep 1.2
shot zh-sending
sleep 6
shot zh-done
xdotool mousemove --window "$wid" 1030 67 click 1
sleep 0.5
shot zh-history
xdotool mousemove --window "$wid" 930 67 click 1
xdotool mousemove --window "$wid" 1257 21 click 1 # ? (F1): help and the language setting
sleep 0.7
shot zh-help
xdotool mousemove --window "$wid" 640 622 click 1 # 关闭
sleep 0.3
xdotool mousemove --window "$wid" 232 697 click 1
sleep 0.7
shot zh-device-dialog
xdotool mousemove --window "$wid" 793 657 click 1 # 取消
sleep 0.3
# 1024×640: the same window and dialogs in the smallest size the lab laptops use.
xdotool windowsize "$wid" 1024 640
sleep 1
small zh-small-done
xdotool mousemove --window "$wid" 800 67 click 1
sleep 0.5
small zh-small-history
xdotool mousemove --window "$wid" 725 67 click 1
xdotool mousemove --window "$wid" 185 537 click 1
sleep 0.7
small zh-small-device-dialog
xdotool mousemove --window "$wid" 666 577 click 1 # 取消
sleep 0.3
xdotool mousemove --window "$wid" 930 21 click 1
sleep 0.7
small zh-small-broker-dialog

stop "$app_pid"
sed -e 's/"BASE bench 3"/"BASE 实验台 3"/' "$tmp/settings-down.json" >"$tmp/zh/settings-down.json"
IMAGEBEAM_LANG=zh_Hans HOME="$tmp/zh" IMAGEBEAM_CONFIG="$tmp/zh/settings-down.json" ./imagebeam "$zhimg" >"$tmp/app5.log" 2>&1 &
app_pid=$!
sleep 4
shot zh-broker-down
wid=$(xdotool search --onlyvisible --name '^ImageBeam$' | head -1)
xdotool mousemove --window "$wid" 1185 21 click 1
sleep 0.7
shot zh-broker-dialog

# The README's two: the finished send, and the help with the language setting.
for f in done help; do
	convert "$OUT/zh-$f.png" -resize 1024x -colors 256 "PNG8:$OUT/imagebeam-zh-$f.png"
	echo "wrote $OUT/imagebeam-zh-$f.png (for the README)"
done

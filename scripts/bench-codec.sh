#!/usr/bin/env bash
# bench-codec.sh: time ImageMagick, vips and imagebeam side by side on the
# same generated 24 MP photo (6000×4000 JPEG), shrinking it for an 800×480
# device at quality 85, and print wall time, peak RSS and the ratios.
#
#   scripts/bench-codec.sh            # 5 rounds, best wall time kept
#   RUNS=10 scripts/bench-codec.sh
#   IMAGEBEAM=/path/to/imagebeam scripts/bench-codec.sh
#
# imagebeam is run as `$IMAGEBEAM convert IN OUT --width 800 --height 480
# --fit cover --quality 85`. IMAGEBEAM defaults to ./imagebeam when that
# binary exists and its convert command works; otherwise the script builds
# codec/internal/cmd/benchconvert, a few lines that call codec.Convert
# exactly as the CLI does, and times that.
#
# Installs libvips-tools, imagemagick and time with apt-get when missing
# (as root, or through sudo).
set -euo pipefail
# Fyne (linked into imagebeam) logs an error for the C and C.UTF-8 locales.
export LANG=en_US.UTF-8
unset LC_ALL LC_MESSAGES

cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}

need=()
command -v vips >/dev/null || need+=(libvips-tools)
{ [ -x /usr/bin/convert ] || command -v magick >/dev/null; } || need+=(imagemagick)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	echo "installing ${need[*]}" >&2
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The real ImageMagick (some machines put a stand-in called convert first on PATH).
if command -v magick >/dev/null; then IMCONVERT=(magick); else IMCONVERT=(/usr/bin/convert); fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
photo=$work/photo-24mp.jpg

echo "generating a 6000×4000 test photo…" >&2
# A plasma (colour gradients) upscaled and given sensor-like noise: it
# compresses like a phone photo (about 10 MB at quality 92).
"${IMCONVERT[@]}" -seed 7 -size 1500x1000 plasma:fractal -resize '6000x4000!' \
	-attenuate 0.7 +noise Gaussian -sampling-factor 4:2:0 -quality 92 "$photo"

bin=${IMAGEBEAM:-}
if [ -z "$bin" ] && [ -x ./imagebeam ] &&
	./imagebeam convert "$photo" "$work/probe.jpg" --width 80 --height 48 --fit cover --quality 85 >/dev/null 2>&1; then
	bin=./imagebeam
fi
if [ -z "$bin" ]; then
	echo "no imagebeam binary with a convert command: building codec/internal/cmd/benchconvert" >&2
	go build -o "$work/benchconvert" ./codec/internal/cmd/benchconvert
	bin=$work/benchconvert
fi

# run1 NAME CMD...: run once, append "wall kb" to $work/NAME.
run1() {
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || {
		echo "$name failed:" >&2
		cat "$work/err" >&2
		exit 1
	}
	cat "$work/time" >>"$work/$name"
}
# best NAME: the lowest wall time and the highest peak RSS of NAME's runs.
best() { awk 'NR==1||$1<w{w=$1} $2>k{k=$2} END{print w, k}' "$work/$1"; }

# Rounds interleave the three tools, so a load that comes and goes on a
# shared machine hits them alike.
for _ in $(seq "$RUNS"); do
	run1 im "${IMCONVERT[@]}" "$photo" -auto-orient -resize 800x480 -quality 85 "$work/im.jpg"
	run1 vips vips thumbnail "$photo" "$work/vips.jpg[Q=85]" 800 --height 480 --crop centre
	run1 ib "$bin" convert "$photo" "$work/imagebeam.jpg" --width 800 --height 480 --fit cover --quality 85
done
read -r im_s im_kb < <(best im)
read -r vips_s vips_kb < <(best vips)
read -r ib_s ib_kb < <(best ib)

size() { stat -c %s "$1"; }
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
echo
echo "input: $(identify -format '%wx%h' "$photo" 2>/dev/null || echo 6000x4000) JPEG, $(size "$photo") bytes; best of $RUNS runs; $(nproc) cores"
printf '%-34s %8s %9s %9s\n' tool "wall s" "peak MB" "out bytes"
printf '%-34s %8.2f %9s %9d\n' "ImageMagick convert -resize" "$im_s" "$(mb "$im_kb")" "$(size "$work/im.jpg")"
printf '%-34s %8.2f %9s %9d\n' "vips thumbnail --crop centre" "$vips_s" "$(mb "$vips_kb")" "$(size "$work/vips.jpg")"
printf '%-34s %8.2f %9s %9d\n' "imagebeam convert --fit cover" "$ib_s" "$(mb "$ib_kb")" "$(size "$work/imagebeam.jpg")"
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "n/a" }'; }
echo "imagebeam / vips:        time $(ratio "$ib_s" "$vips_s")×, peak memory $(ratio "$ib_kb" "$vips_kb")×"
echo "imagebeam / ImageMagick: time $(ratio "$ib_s" "$im_s")×, peak memory $(ratio "$ib_kb" "$im_kb")×"
echo "imagebeam: $("$bin" convert "$photo" "$work/imagebeam.jpg" --width 800 --height 480 --fit cover --quality 85)"

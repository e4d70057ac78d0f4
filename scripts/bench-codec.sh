#!/usr/bin/env bash
# bench-codec.sh: time ImageMagick, vips and imagebeam side by side on the
# same generated 24 MP photo (6000×4000) as a baseline, a progressive and a
# CMYK JPEG, shrinking each for an 800×480 device at quality 85, and print
# wall time, peak RSS and the ratios; then the peak RSS of vips and
# imagebeam on a 10000×10000 progressive JPEG.
#
#   scripts/bench-codec.sh            # 5 rounds, best wall time kept
#   RUNS=10 scripts/bench-codec.sh
#   IMAGEBEAM=./imagebeam scripts/bench-codec.sh   # time a built CLI instead
#
# The photos come from `go run ./codec/internal/cmd/gentestdata -big DIR`
# (pure Go, about a minute and 1.5 GB once). imagebeam is run as
# `$IMAGEBEAM convert IN OUT --width 800 --height 480 --fit cover --quality
# 85`. Without IMAGEBEAM the script builds codec/internal/cmd/benchconvert
# from the work tree, a few lines that call codec.Convert exactly as the
# CLI does (the same 2 GiB budget), and times that: a ./imagebeam left from
# an earlier build would time old code.
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

echo "generating the test photos (gentestdata -big)…" >&2
go run ./codec/internal/cmd/gentestdata -big "$work"
kinds=(baseline progressive cmyk)

bin=${IMAGEBEAM:-}
if [ -z "$bin" ]; then
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
	cat "$work/time" >>"$work/$name.t"
}
# best NAME: the lowest wall time and the highest peak RSS of NAME's runs.
best() { awk 'NR==1||$1<w{w=$1} $2>k{k=$2} END{print w, k}' "$work/$1.t"; }

# Rounds interleave the tools and the kinds, so a load that comes and
# goes on a shared machine hits them alike.
for _ in $(seq "$RUNS"); do
	for k in "${kinds[@]}"; do
		in=$work/photo-24mp-$k.jpg
		run1 "im-$k" "${IMCONVERT[@]}" "$in" -auto-orient -resize 800x480 -quality 85 "$work/im-$k.jpg"
		run1 "vips-$k" vips thumbnail "$in" "$work/vips-$k.jpg[Q=85]" 800 --height 480 --crop centre
		run1 "ib-$k" "$bin" convert "$in" "$work/ib-$k.jpg" --width 800 --height 480 --fit cover --quality 85
	done
done
# The 10000×10000 progressive photo, for memory: once each.
big=$work/progressive-10000.jpg
run1 vips-big vips thumbnail "$big" "$work/vips-big.jpg[Q=85]" 800 --height 480 --crop centre
run1 ib-big "$bin" convert "$big" "$work/ib-big.jpg" --width 800 --height 480 --fit cover --quality 85

size() { stat -c %s "$1"; }
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "n/a" }'; }
echo
echo "best wall time of $RUNS runs (the 10000×10000 row: one run); $(nproc) cores"
printf '%-42s %-30s %8s %9s %9s\n' input tool "wall s" "peak MB" "out bytes"
row() { # row INPUT TOOL NAME OUT
	local s kb
	read -r s kb < <(best "$3")
	printf '%-42s %-30s %8.2f %9s %9d\n' "$1" "$2" "$s" "$(mb "$kb")" "$(size "$4")"
}
for k in "${kinds[@]}"; do
	in="24 MP $k, $(size "$work/photo-24mp-$k.jpg") bytes"
	row "$in" "ImageMagick convert -resize" "im-$k" "$work/im-$k.jpg"
	row "" "vips thumbnail --crop centre" "vips-$k" "$work/vips-$k.jpg"
	row "" "imagebeam convert --fit cover" "ib-$k" "$work/ib-$k.jpg"
done
in="10000×10000 progressive, $(size "$big") bytes"
row "$in" "vips thumbnail --crop centre" vips-big "$work/vips-big.jpg"
row "" "imagebeam convert --fit cover" ib-big "$work/ib-big.jpg"
echo
for k in "${kinds[@]}" big; do
	read -r ib_s ib_kb < <(best "ib-$k")
	read -r vips_s vips_kb < <(best "vips-$k")
	echo "imagebeam / vips, $k: time $(ratio "$ib_s" "$vips_s")×, peak memory $(ratio "$ib_kb" "$vips_kb")×"
done
for k in "${kinds[@]}"; do
	read -r ib_s ib_kb < <(best "ib-$k")
	read -r im_s im_kb < <(best "im-$k")
	echo "imagebeam / ImageMagick, $k: time $(ratio "$ib_s" "$im_s")×, peak memory $(ratio "$ib_kb" "$im_kb")×"
done

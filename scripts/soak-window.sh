#!/bin/sh
# soak-window.sh: the window driven through its test harness (Fyne's test
# driver, the built-in broker, the simulated device) for a few hundred
# sends, one after another, sampling its live heap, goroutines, open files,
# history entries and transfer cards every few sends. The test fails when
# the history or the cards outgrow their bounds, or the heap, goroutines
# or files grow after warm-up; the samples go to $OUT/soak-window.csv and
# are plotted in $OUT/soak-window.png.
#
#   scripts/soak-window.sh                 # 400 sends
#   SENDS=100 scripts/soak-window.sh       # a short one
#   OUT=docs/soak scripts/soak-window.sh   # keep the CSV and the plot there
set -eu
cd "$(dirname "$0")/.."
SENDS=${SENDS:-400}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
scripts/deps.sh gui
csv=$(cd "$OUT" && pwd)/soak-window.csv
log=$OUT/soak-window.log
status=0
# FYNE_CACHE: Fyne drops what it caches for objects no longer shown after
# a second instead of a minute, so that the heap's saw is short.
FYNE_CACHE=1s IMAGEBEAM_SOAK_SENDS=$SENDS IMAGEBEAM_SOAK_CSV=$csv \
	go test -tags migrated_fynedo -count=1 -timeout 60m -run '^TestWindowSoak$' -v ./gui/ >"$log" 2>&1 || status=$?
grep -E '^(---|ok|FAIL)|soak_test' "$log" || true
[ -s "$csv" ] || { echo "FAIL: no samples written (see $log)" >&2; exit 1; }
go run ./internal/cmd/plotcsv -o "$OUT/soak-window.png" \
	-title "the window: $SENDS sends to the simulated device through the test harness" \
	"$csv" heap_mib goroutines fds history cards
echo "samples in $csv, plot in $OUT/soak-window.png" >&2
exit "$status"

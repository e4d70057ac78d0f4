#!/usr/bin/env bash
# bench-serve-memory.sh: what `imagebeam serve --max-memory 1GiB` holds
# when 8 image bombs are asked for at once through the old call
# (GET /image?url=…), all on loopback: the built-in broker, a simulated
# device, a local HTTP server for the bombs (python3 -m http.server on
# 127.0.0.1) and serve itself, each on a free port.
#
#   scripts/bench-serve-memory.sh
#   MAX_MEMORY=2GiB scripts/bench-serve-memory.sh
#   GOMEMLIMIT=off scripts/bench-serve-memory.sh    # without serve's soft memory limit
#   IMAGEBEAM=/path/to/imagebeam scripts/bench-serve-memory.sh
#   UPLOADS=0 scripts/bench-serve-memory.sh         # skip the upload round
#
# It prints each request's status, time and error sentence, serve's RSS
# before, its peak (VmHWM) and its RSS once the transfers have ended and
# again after SETTLE seconds (memory returned to the OS), and fails when
# the peak is over the budget + 150 MB.
#
# The bombs come from codec/internal/cmd/genbombs: 10000×10000 ones that
# are refused from their header (422) and smaller ones that fit and are
# decoded, two of which never fit the budget together. A second round
# POSTs UPLOADS (6) uploads of 60 MB at once, with the peak reset first
# (/proc/PID/clear_refs): each waits for its share of the budget before
# its body is read.
set -euo pipefail
# Fyne (linked into imagebeam) logs an error for the C locale unless
# LANGUAGE names a language (as the Makefile does).
export LANGUAGE=${LANGUAGE:-en}

cd "$(dirname "$0")/.."
MAX_MEMORY=${MAX_MEMORY:-1GiB}
SETTLE=${SETTLE:-10}
UPLOADS=${UPLOADS:-6}
MARGIN_MB=150

for tool in curl python3; do
	command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done

. scripts/lib.sh
isolate
imagebeam_bin
echo "making the bombs…" >&2
go run ./codec/internal/cmd/genbombs "$work/bombs" >"$work/bombs.txt"

mqtt=$(free_port)
img=$(free_port)
api=$(free_port)

"$bin" broker --listen "127.0.0.1:$mqtt" >"$work/broker.log" 2>&1 &
pids+=($!)
python3 -m http.server "$img" --bind 127.0.0.1 --directory "$work/bombs" >"$work/http.log" 2>&1 &
pids+=($!)
wait_port "$mqtt"
wait_port "$img"
"$bin" simulate --broker "tcp://127.0.0.1:$mqtt" --out "$work/received" >"$work/sim.log" 2>&1 &
pids+=($!)
"$bin" serve --listen "127.0.0.1:$api" --broker "tcp://127.0.0.1:$mqtt" --max-memory "$MAX_MEMORY" >"$work/serve.out" 2>"$work/serve.log" &
serve=$!
pids+=("$serve")
wait_port "$api"

status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$serve/status"; }
mib() { echo $(($1 / 1024)); }

bombs=(
	progressive-10000x10000.jpg
	rgba16-10000x10000.png
	interlaced-10000x10000.png
	rgb-10000x10000.tiff
	progressive-5000x5000.jpg
	"progressive-5000x5000.jpg?again"
	rgba16-5000x5000.png
	flat-7000x7000.gif
)
before=$(status_kb VmRSS)
echo
echo "serve --max-memory $MAX_MEMORY (pid $serve), GOMEMLIMIT=${GOMEMLIMIT:-unset}: RSS before $(mib "$before") MiB"
echo "${#bombs[@]} concurrent GET /image?url=…:"
start=$(date +%s.%N)
curls=()
for i in "${!bombs[@]}"; do
	curl -s -o "$work/answer-$i.json" -w '%{http_code} %{time_total}' \
		"http://127.0.0.1:$api/image?url=http://127.0.0.1:$img/${bombs[$i]}" >"$work/status-$i" &
	curls+=($!)
done
# GET /image answers once the device acked the whole image (or it failed).
for p in "${curls[@]}"; do wait "$p" || true; done
elapsed=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
for i in "${!bombs[@]}"; do
	read -r code secs <"$work/status-$i" || true # curl's -w line has no newline
	msg=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("error") or "imageData %s" % d.get("imageData"))' "$work/answer-$i.json" 2>/dev/null || head -c 200 "$work/answer-$i.json")
	printf '  %-34s %s %6.2fs  %s\n' "${bombs[$i]}" "$code" "$secs" "$msg"
done
peak=$(status_kb VmHWM)
after=$(status_kb VmRSS)
sleep "$SETTLE"
settled=$(status_kb VmRSS)
limit_mb=$(($(python3 -c "
import re,sys
m=re.fullmatch(r'([0-9.]+)\s*([KMGT]i?B?|B)?', sys.argv[1].strip(), re.I)
n=float(m.group(1)); u=(m.group(2) or '').upper()
f={'':1,'B':1,'K':1<<10,'KIB':1<<10,'KB':1e3,'M':1<<20,'MIB':1<<20,'MB':1e6,'G':1<<30,'GIB':1<<30,'GB':1e9}[u]
print(int(n*f))" "$MAX_MEMORY") / 1024 / 1024 + MARGIN_MB))
echo "all answered in ${elapsed}s"
echo "serve RSS: peak (VmHWM) $(mib "$peak") MiB, when the last answer came $(mib "$after") MiB, ${SETTLE}s later $(mib "$settled") MiB"
if [ "$(mib "$peak")" -gt "$limit_mb" ]; then
	echo "FAIL: peak $(mib "$peak") MiB is over the budget + ${MARGIN_MB} MiB ($limit_mb MiB)"
	exit 1
fi
echo "ok: peak under the budget + ${MARGIN_MB} MiB ($limit_mb MiB)"

[ "$UPLOADS" -gt 0 ] || exit 0
head -c 60000000 /dev/urandom >"$work/upload.bin"
echo 5 >"/proc/$serve/clear_refs" # VmHWM starts again from VmRSS
echo
echo "$UPLOADS concurrent POST /image of 60 MB (random bytes: read, then refused as not an image):"
curls=()
for i in $(seq "$UPLOADS"); do
	curl -s -o "$work/up-$i.json" -w '%{http_code} %{time_total}' -H 'Content-Type: application/octet-stream' \
		--data-binary "@$work/upload.bin" "http://127.0.0.1:$api/image" >"$work/upstatus-$i" &
	curls+=($!)
done
for p in "${curls[@]}"; do wait "$p" || true; done
for i in $(seq "$UPLOADS"); do
	read -r code secs <"$work/upstatus-$i" || true
	msg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error", ""))' "$work/up-$i.json" 2>/dev/null || true)
	printf '  upload %d  %s %6.2fs  %s\n' "$i" "$code" "$secs" "${msg:0:110}"
done
peak=$(status_kb VmHWM)
sleep "$SETTLE"
echo "serve RSS: peak (VmHWM) $(mib "$peak") MiB, ${SETTLE}s later $(mib "$(status_kb VmRSS)") MiB"
if [ "$(mib "$peak")" -gt "$limit_mb" ]; then
	echo "FAIL: peak $(mib "$peak") MiB is over the budget + ${MARGIN_MB} MiB ($limit_mb MiB)"
	exit 1
fi
echo "ok: peak under the budget + ${MARGIN_MB} MiB ($limit_mb MiB)"

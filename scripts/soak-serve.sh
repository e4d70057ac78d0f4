#!/usr/bin/env bash
# soak-serve.sh: `imagebeam serve` under a few thousand transfers to a
# simulated bench with faults, and a broker restart in the middle, all on
# loopback: Mosquitto, `imagebeam simulate --devices`, serve and curl, each
# on a free port. Bounded: TRANSFERS transfers, and the whole run within
# LIMIT seconds.
#
#   scripts/soak-serve.sh                       # 3000 transfers to 8 devices
#   TRANSFERS=500 scripts/soak-serve.sh         # a short one
#   OUT=docs/soak scripts/soak-serve.sh         # keep the CSV and the plot there
#   IMAGEBEAM=/path/to/imagebeam scripts/soak-serve.sh
#
# Requests (WORKERS at once) alternate: three POST /image?device=NAME for
# one POST /image?group=Soak (all DEVICES devices), cycling through four
# pictures, so every device must report the SHA-256 of one of the four
# JPEGs `imagebeam convert` makes of them. Every SAMPLE seconds it records serve's RSS (VmRSS), open
# files (/proc/PID/fd), goroutines and transfers (GET /status) in
# $OUT/soak-serve.csv, and plots them in $OUT/soak-serve.png. It fails
# unless every transfer is done with its image byte-identical at the
# device, or failed with a reason; and unless goroutines, open files and
# RSS are flat after warm-up (the first fifth of the run): at the end,
# idle, within +10 goroutines, +5 files and +25 MB of their warm-up level.
set -euo pipefail
export LANGUAGE=${LANGUAGE:-en}
cd "$(dirname "$0")/.."

TRANSFERS=${TRANSFERS:-3000}
DEVICES=${DEVICES:-8}
WORKERS=${WORKERS:-6}
SAMPLE=${SAMPLE:-2}
LIMIT=${LIMIT:-1800}
OUT=${OUT:-$(mktemp -d)}
FAULTS=${FAULTS:---drop 0.005 --drop-ack 0.005 --nak 0.01 --dup 0.01 --garbage 0.01 --late 0.005:300ms}

for tool in curl python3 mosquitto; do
	command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "$tool is required (scripts/deps.sh test installs mosquitto)" >&2; exit 1; }
done
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

. scripts/lib.sh
isolate
mkdir -p "$OUT"
deadline=$(($(date +%s) + LIMIT))
imagebeam_bin

mqtt=$(free_port)
api=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$mqtt" >"$work/mosquitto.conf"
start_broker() {
	"$MOSQUITTO" -c "$work/mosquitto.conf" >>"$work/mosquitto.log" 2>&1 &
	broker=$!
	pids+=("$broker")
	wait_port "$mqtt"
}
start_broker

# The bench, saved as the group "Soak"; its devices resend after 200 ms.
# shellcheck disable=SC2086
"$bin" simulate --broker "tcp://127.0.0.1:$mqtt" --devices "$DEVICES" --prefix soak --save-group Soak $FAULTS \
	>"$work/sim.jsonl" 2>"$work/sim.log" &
pids+=($!)
for _ in $(seq 200); do grep -q "saved the group" "$work/sim.log" && break; sleep 0.05; done
sed -i 's/"timeout": "5s"/"timeout": "200ms"/' "$IMAGEBEAM_CONFIG"

"$bin" serve --listen "127.0.0.1:$api" --broker "tcp://127.0.0.1:$mqtt" >"$work/serve.out" 2>"$work/serve.log" &
serve=$!
pids+=("$serve")
wait_port "$api"

images=(codec/testdata/photo-444.jpg codec/testdata/photo-422.jpg codec/testdata/photo-411.jpg codec/testdata/photo-gray.jpg)
# What serve sends each device (the default image profile): the JPEGs the
# devices must report, byte for byte.
expected=()
for i in "${!images[@]}"; do
	"$bin" convert "${images[$i]}" "$work/expected-$i.jpg" >/dev/null 2>&1
	expected+=("$work/expected-$i.jpg")
done
names=()
width=$((${#DEVICES} > 2 ? ${#DEVICES} : 2)) # as simulate numbers them: 01, 02…
for i in $(seq 1 "$DEVICES"); do names+=("Soak%20$(printf '%0*d' "$width" "$i")"); done
# The requests: three to one device, then one to the group, and so on.
requests=$work/requests
: >"$requests"
n=0 r=0
while [ "$n" -lt "$TRANSFERS" ]; do
	img=${images[$((r % ${#images[@]}))]}
	if [ $((r % 4)) -eq 3 ]; then
		echo "group=Soak $img" >>"$requests"
		n=$((n + DEVICES))
	else
		echo "device=${names[$((r % DEVICES))]} $img" >>"$requests"
		n=$((n + 1))
	fi
	r=$((r + 1))
done
total=$(wc -l <"$requests")

answers=$work/answers.jsonl
: >"$answers"
csv=$OUT/soak-serve.csv
echo "t_s,rss_mb,fds,goroutines,active,subscriptions,requests_answered" >"$csv"
t0=$(date +%s.%N)
elapsed() { python3 -c "import time; print(f'{time.time() - $t0:.1f}')"; }
sample() {
	local rss fds st
	rss=$(awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$serve/status")
	fds=$(find "/proc/$serve/fd" -mindepth 1 -maxdepth 1 | wc -l)
	st=$(curl -s --max-time 5 "http://127.0.0.1:$api/status" || echo '{}')
	python3 -c 'import json,sys; d=json.loads(sys.argv[1] or "{}"); print("%s,%s,%s,%s,%s,%s,%s" % (sys.argv[2], sys.argv[3], sys.argv[4], d.get("goroutines", ""), d.get("transfers_active", ""), d.get("subscriptions", ""), sys.argv[5]))' \
		"$st" "$(elapsed)" "$rss" "$fds" "$(wc -l <"$answers")" >>"$csv"
}
# It stops at $work/stop, after a whole sample: killed in the middle of one,
# its python would die writing to a closed pipe (BrokenPipeError).
(while kill -0 "$serve" 2>/dev/null && [ ! -e "$work/stop" ]; do sample; sleep "$SAMPLE"; done) &
sampler=$!
pids+=("$sampler")

echo "soak: $total requests ($TRANSFERS transfers) to $DEVICES simulated devices with faults ($FAULTS), $WORKERS at once; broker restart half way" >&2
# One request: its answer as one JSON line (POST waits for the transfers).
export api answers
post() {
	local f
	f=$(mktemp "$answers.XXXXXX")
	curl -s --max-time 300 -H 'Content-Type: image/jpeg' --data-binary "@$2" "http://127.0.0.1:$api/image?$1" | tr -d '\n' >"$f"
	{ flock 9; cat "$f" >>"$answers"; echo >>"$answers"; } 9>>"$answers.lock"
	rm -f "$f"
}
export -f post
half=$((total / 2))
head -n "$half" "$requests" | xargs -P "$WORKERS" -L 1 bash -c 'post "$0" "$1"' &
load=$!
# The broker restart, in the middle of the first half's last requests.
while kill -0 "$load" 2>/dev/null && [ "$(wc -l <"$answers")" -lt $((half * 9 / 10)) ]; do sleep 0.2; done
restart_at=$(elapsed)
echo "restarting the broker at ${restart_at}s" >&2
kill -9 "$broker"
wait "$broker" 2>/dev/null || true
sleep 2
start_broker
wait "$load"
tail -n +"$((half + 1))" "$requests" | xargs -P "$WORKERS" -L 1 bash -c 'post "$0" "$1"'
[ "$(date +%s)" -lt "$deadline" ] || { echo "FAIL: over the ${LIMIT}s limit" >&2; exit 1; }
# Idle: let the last answers settle, and sample a while longer.
sleep $((SAMPLE * 5))
touch "$work/stop"
wait "$sampler" 2>/dev/null || true
echo "ran $(elapsed)s; samples in $csv" >&2

go run ./internal/cmd/plotcsv -o "$OUT/soak-serve.png" -mark "$restart_at" \
	-title "imagebeam serve: $TRANSFERS transfers to $DEVICES simulated devices, broker restarted at ${restart_at}s" \
	"$csv" rss_mb goroutines fds active

python3 - "$answers" "$work/sim.jsonl" "$csv" "${expected[@]}" <<'EOF'
import collections, csv, hashlib, json, sys
answers, sim, samples, images = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
known = {hashlib.sha256(open(p, "rb").read()).hexdigest() for p in images}
done, failed, bad = collections.Counter(), collections.Counter(), []
requests = 0
for line in open(answers):
    line = line.strip()
    if not line:
        continue
    requests += 1
    try:
        a = json.loads(line)
    except ValueError:
        bad.append("an answer that is not JSON: " + line[:200])
        continue
    transfers = a.get("transfers") or ([a["transfer"]] if a.get("transfer") else [])
    if not transfers:
        bad.append("a request without a transfer: " + line[:200])
    for t in transfers:
        if t.get("state") == "done":
            if t.get("sha256") not in known:
                bad.append("%s: done with an image no request sent" % t.get("device"))
            done[(t["device"], t["sha256"])] += 1
        elif t.get("error"):
            failed[t["error"]] += 1
        else:
            bad.append("%s: %s without a reason" % (t.get("device"), t.get("state")))
got = collections.Counter()
for line in open(sim):
    r = json.loads(line)
    if r["complete"]:
        if r["sha256"] not in known:
            bad.append("%s holds an image that differs from every one sent" % r["device"])
        got[(r["device"], r["sha256"])] += 1
for key, n in done.items():
    if got[key] < n:
        bad.append("%s: %d transfers of %s… done, but the device received it whole %d times" % (key[0], n, key[1][:12], got[key]))
print("%d requests, %d transfers done (each byte-identical at its device), %d failed with a reason" % (requests, sum(done.values()), sum(failed.values())))
for err, n in failed.most_common():
    print("  %d× %s" % (n, err))
rows = list(csv.DictReader(open(samples)))
warm = rows[max(1, len(rows) // 5)]
last = rows[-1]
def f(row, k): return float(row[k] or 0)
print("after warm-up (t=%ss): RSS %.1f MB, %d goroutines, %d files; at the end, idle (t=%ss): RSS %.1f MB, %d goroutines, %d files; peak RSS %.1f MB" % (
    warm["t_s"], f(warm, "rss_mb"), f(warm, "goroutines"), f(warm, "fds"), last["t_s"], f(last, "rss_mb"), f(last, "goroutines"), f(last, "fds"),
    max(f(r, "rss_mb") for r in rows)))
if f(last, "goroutines") > f(warm, "goroutines") + 10: bad.append("goroutines grew")
if f(last, "fds") > f(warm, "fds") + 5: bad.append("open files grew")
if f(last, "rss_mb") > f(warm, "rss_mb") + 25: bad.append("RSS grew")
for b in bad[:20]:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF

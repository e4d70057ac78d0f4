#!/usr/bin/env bash
# broker-hostile.sh: measure what hostile clients cost `imagebeam broker`.
# It starts the broker on a free loopback port, reads its resident memory
# (VmRSS) and address space (VmSize) from /proc, opens N connections that
# each send only a CONNECT fixed header announcing MQTT's largest packet
# (268435455 bytes: 10 ff ff ff 7f) and then nothing, holds them open,
# and reads /proc again.
#
#   scripts/broker-hostile.sh                  # 40 connections, ./imagebeam (built when missing)
#   N=200 scripts/broker-hostile.sh
#   N=1000 LEN=65000 scripts/broker-hostile.sh   # just under the packet limit: held until the CONNECT deadline
#   IMAGEBEAM=/tmp/old/imagebeam scripts/broker-hostile.sh   # another build, e.g. before the fix
#
# Target (issue 10): RSS under 100 MB and address space within 1 GB of
# where it started. Linux only (/proc).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-40}
# bash waits on descriptors with select(), which stops at 1024 of them.
[ "$N" -le 1000 ] || { echo "N=$N: at most 1000 connections (bash's select() limit)" >&2; exit 2; }
LEN=${LEN:-268435455}
export LANG=C.UTF-8 # Fyne, linked in, warns about the plain C locale

bin=${IMAGEBEAM:-./imagebeam}
if [ ! -x "$bin" ]; then
	echo "building $bin…" >&2
	go build -tags migrated_fynedo -o "$bin" .
fi

work=$(mktemp -d)
broker_pid=""
fds=()
cleanup() {
	# Our connections go first: a broker from before the fix waits for
	# every client that never sent CONNECT before it stops.
	for fd in "${fds[@]}"; do exec {fd}>&-; done
	if [ -n "$broker_pid" ]; then
		kill "$broker_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$broker_pid" 2>/dev/null; then
			echo "the broker did not stop within 5 s of SIGTERM; killing it" >&2
			kill -KILL "$broker_pid" 2>/dev/null || true
		fi
		wait "$broker_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

IMAGEBEAM_CONFIG=$work/settings.json "$bin" broker --listen 127.0.0.1:0 2>"$work/stderr" &
broker_pid=$!
port=""
for _ in $(seq 100); do
	port=$(sed -n 's|.*listening on tcp://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$work/stderr")
	[ -n "$port" ] && break
	kill -0 "$broker_pid" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
	sleep 0.1
done
[ -n "$port" ] || { echo "the broker did not say where it listens" >&2; cat "$work/stderr" >&2; exit 1; }

# mem prints "RSS_MB VSZ_MB" of the broker.
mem() {
	awk '/^VmRSS:/ {rss=$2} /^VmSize:/ {vsz=$2} END {printf "%d %d\n", rss/1024, vsz/1024}' "/proc/$broker_pid/status"
}
read -r rss0 vsz0 < <(mem)

# The CONNECT fixed header: type 1, then LEN as MQTT's variable-length integer.
header='\x10'
n=$LEN
while :; do
	d=$((n % 128)); n=$((n / 128))
	[ "$n" -gt 0 ] && d=$((d | 128))
	header+=$(printf '\\x%02x' "$d")
	[ "$n" -gt 0 ] || break
done
for _ in $(seq "$N"); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$port"
	printf '%b' "$header" >&"$fd"
	fds+=("$fd")
done
# Give the broker 2 s to deal with the headers: a guarded broker closes a
# connection announcing too much (read sees EOF at once); an unguarded one,
# or a header under the limit, waits for the announced bytes with its
# buffer allocated.
closed=0
end=$((${EPOCHREALTIME/./} + 2000000))
for fd in "${fds[@]}"; do
	left=$((end - ${EPOCHREALTIME/./}))
	[ "$left" -gt 1000 ] || left=1000
	if read -r -t "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))" -u "$fd" _ 2>/dev/null; [ $? -lt 128 ]; then
		closed=$((closed + 1))
	fi
done
read -r rss1 vsz1 < <(mem)

printf '%-36s %8s %8s\n' "imagebeam broker ($bin)" "RSS MB" "VSZ MB"
printf '%-36s %8d %8d\n' "at start" "$rss0" "$vsz0"
printf '%-36s %8d %8d\n' "$N CONNECT headers of $LEN" "$rss1" "$vsz1"
printf 'growth: RSS %+d MB, address space %+d MB; the broker closed %d of %d connections\n' \
	$((rss1 - rss0)) $((vsz1 - vsz0)) "$closed" "$N"
ok=1
[ "$rss1" -lt 100 ] || ok=0
[ $((vsz1 - vsz0)) -lt 1024 ] || ok=0
if [ "$ok" -eq 1 ]; then
	echo "within target: RSS under 100 MB, address space within 1 GB of the start"
else
	echo "OVER TARGET: RSS under 100 MB and address space within 1 GB of the start are wanted"
	exit 1
fi

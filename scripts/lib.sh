# shellcheck shell=bash
# lib.sh: what the bench and soak scripts share, sourced from the
# repository's root (`. scripts/lib.sh`) by bash with `set -euo pipefail`.
#
# It makes $work, a temporary folder that goes at exit together with every
# process whose pid the script adds to pids, and defines imagebeam_bin,
# free_port and wait_port.

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

# isolate points ImageBeam's settings and device locks into $work, so that
# nothing of the user's is read or changed. It keeps the user's Go build
# cache, which is under XDG_CACHE_HOME too: without it every run would
# build imagebeam (Fyne and its C parts) from nothing.
isolate() {
	export GOCACHE=${GOCACHE:-$(go env GOCACHE)}
	export IMAGEBEAM_CONFIG=$work/settings.json XDG_CACHE_HOME=$work/cache
}

# imagebeam_bin sets bin to $IMAGEBEAM, or to imagebeam built into $work.
imagebeam_bin() {
	bin=${IMAGEBEAM:-}
	if [ -z "$bin" ]; then
		echo "building imagebeam…" >&2
		go build -trimpath -tags migrated_fynedo -o "$work/imagebeam" .
		bin=$work/imagebeam
	fi
}

# free_port prints a TCP port free on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_port PORT waits for 127.0.0.1:PORT to accept connections (processes
# start in the background), for 10 s at most.
wait_port() {
	for _ in $(seq 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "nothing listens on 127.0.0.1:$1; see the logs in $work" >&2
	exit 1
}

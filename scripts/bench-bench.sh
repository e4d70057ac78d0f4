#!/usr/bin/env bash
# bench-bench.sh: a whole bench at once. `imagebeam send` to 1, 10 and 50
# simulated devices (`imagebeam simulate --devices 50`, another process)
# through a real Mosquitto on loopback, 1 MB each, against the minimal
# paho sender as the yardstick in the same run (one connection per device:
# publish a frame, wait for the matching reply, nothing else), the two
# interleaved. Every image is checked by the devices' SHA-256. Prints CPU
# per acknowledged packet and peak RSS of each sender process (the
# kernel's accounting of the exited process), aggregate throughput, and
# the ratios imagebeam ÷ minimal (medians of the pairwise ratios).
#
#   scripts/bench-bench.sh                        # 5 rounds of 1, 10, 50 devices
#   scripts/bench-bench.sh -rounds 3 -devices 10  # any flag of internal/cmd/benchbench
#   scripts/bench-bench.sh -nodelay               # Mosquitto with set_tcp_nodelay true
#   IMAGEBEAM=/path/to/imagebeam scripts/bench-bench.sh
set -euo pipefail
export LANGUAGE=${LANGUAGE:-en}
cd "$(dirname "$0")/.."
scripts/deps.sh test
. scripts/lib.sh
imagebeam_bin
go build -o "$work/benchbench" ./internal/cmd/benchbench
"$work/benchbench" -imagebeam "$bin" "$@"

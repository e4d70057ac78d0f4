# shellcheck shell=bash
# wait-line.sh: sourced by packaging/check.sh and packaging/windows/wine-check.sh.

# wait_line FD TEXT SECONDS: read FD until a line containing TEXT (printed) or time out.
wait_line() {
	local fd=$1 text=$2 deadline=$((SECONDS + $3)) line
	while ((SECONDS < deadline)); do
		IFS= read -r -t $((deadline - SECONDS)) -u "$fd" line || return 1
		echo "  | $line" >&2
		if [[ $line == *"$text"* ]]; then printf '%s\n' "$line"; return 0; fi
	done
	return 1
}

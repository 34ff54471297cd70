#!/bin/sh
# run.sh — replay each fuzz target's committed regression inputs, then fuzz it for SECONDS from its seed
# corpus (harness/fuzz/corpus/TARGET) with its dictionary; one target at a time, under nice.
# Usage: run.sh SECONDS BIN...   (make fuzz / make fuzz-smoke call it; FUZZ_BUILD is the build folder)
# New corpus entries go to $FUZZ_BUILD/corpus/TARGET (never into the committed seeds), crashes to
# $FUZZ_BUILD/artifacts/TARGET/, the log to $FUZZ_BUILD/logs/TARGET.log; a summary line per target
# (seconds, executions, cov, ft, corpus size) goes to stdout and $FUZZ_BUILD/logs/summary.txt.
# Exit 1 when a regression input fails or fuzzing finds a crash, leak or timeout.
set -u
secs=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
fb=${FUZZ_BUILD:-build-fuzz}
mkdir -p "$fb/logs"
export POP3SPEC_ROOT="$root"
# ASan: leaks count; UBSan: any report stops the target (it is built with -fno-sanitize-recover).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
for bin in "$@"; do
	t=$(basename "$bin")
	name=${t#fuzz_}
	seeds="$here/corpus/$name"
	regs="$here/regressions/$name"
	work="$fb/corpus/$name"
	art="$fb/artifacts/$name"
	log="$fb/logs/$name.log"
	mkdir -p "$work" "$art" "$seeds"
	opts="-timeout=10 -rss_limit_mb=2048 -print_final_stats=1"
	[ -f "$here/$name.dict" ] && opts="$opts -dict=$here/$name.dict"
	[ -f "$here/pop3.dict" ] && [ ! -f "$here/$name.dict" ] && opts="$opts -dict=$here/pop3.dict"
	if [ -d "$regs" ] && [ -n "$(ls -A "$regs" 2>/dev/null)" ]; then
		# shellcheck disable=SC2086
		if ! nice -n 19 "$bin" $opts -runs=0 "$regs"/* >"$log.regressions" 2>&1; then
			echo "$name: REGRESSION input fails (see $log.regressions)"
			status=1
			continue
		fi
	fi
	# shellcheck disable=SC2086
	nice -n 19 "$bin" $opts -max_total_time="$secs" -artifact_prefix="$art/" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	stats=$(grep -E '^#[0-9]+.*(pulse|DONE|NEW|REDUCE|INITED)' "$log" | tail -1)
	cov=$(echo "$stats" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$stats" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$stats" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	line="$name: ${secs}s runs=${runs:-?} cov=${cov:-?} ft=${ft:-?} corpus=${corp:-?}"
	if [ $rc -ne 0 ]; then
		line="$line FAILED (exit $rc; inputs in $art/, log $log)"
		status=1
	fi
	echo "$line"
	echo "$(date -u +%FT%TZ) $line" >>"$fb/logs/summary.txt"
done
exit $status

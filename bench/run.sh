#!/usr/bin/env bash
# run.sh — the benchmark: pop3refd, the trivial responder (the ceiling) and Debian's Dovecot measured side
# by side in one run with bench/loadgen, medians of several runs, printed as one table of values and ratios
# against the goals of docs/performance.md. `make bench` runs it; `make bench-smoke` runs `--smoke`, a
# seconds-long version for CI (smaller data, one run, no Dovecot, no suite timing).
#
# Environment: BENCH_RUNS (runs per median, default 3), BENCH_SECS (seconds per sessions/s run, default
# 3), BENCH_DOVECOT=0 (leave Dovecot out), BENCH_SUITE=0 (leave the suite's wall time out),
# BENCH_OUT (folder for data and results, default build/bench). Results: $BENCH_OUT/results.txt (every raw
# loadgen line) and $BENCH_OUT/table.md (the table, as docs/performance.md shows it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

smoke=0
[ "${1:-}" = --smoke ] && smoke=1
runs=${BENCH_RUNS:-3}
secs=${BENCH_SECS:-3}
use_dovecot=${BENCH_DOVECOT:-1}
use_suite=${BENCH_SUITE:-1}
out=${BENCH_OUT:-build/bench}
bin=${BIN:-bin}
big_mb=50 huge=100000 idle=10000
if [ $smoke = 1 ]; then
	runs=1 secs=1 use_dovecot=0 use_suite=0 big_mb=5 huge=10000 idle=1000
	out=${BENCH_OUT:-build/bench-smoke}
fi
L=$bin/bench/loadgen
data=$out/data
raw=$out/results.txt
mkdir -p "$out"
: >"$raw"

say() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

for f in "$bin/pop3refd" "$L" "$bin/bench/trivial" fixtures/generated/tls/server.pem; do
	[ -e "$f" ] || die "$f missing (make all fixtures $bin/bench/loadgen $bin/bench/trivial)"
done

# Idle sessions need a descriptor each in the load client and two in pop3refd (the socket and the
# maildrop lock of RFC 1939 §8): raise the soft limit to the hard one, and hold no more sessions than fit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] && [ $((idle * 2 + 64)) -gt "$nofile" ]; then
	idle=$(((nofile - 64) / 2))
	say "ulimit -n is $nofile (hard limit): holding $idle idle sessions instead of 10,000"
fi

say "data in $data (big ${big_mb} MB, ${huge} messages, ${idle} idle accounts)"
nice python3 bench/mkdata.py --out "$data" --big-mb "$big_mb" --huge-count "$huge" --idle-count "$idle"

# --- servers ---------------------------------------------------------------------------------------------
pids=()
dovecot_dir=$root/$out/dovecot
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ "$use_dovecot" = 1 ]; then
		PEER_DIR=$dovecot_dir harness/peers/dovecot.sh stop >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT

# start NAME CMD...: run a server, wait for its "listening" lines; sets port_NAME (and tlsport_NAME).
start() {
	local name=$1 log=$out/$1.log i
	shift
	"$@" >"$log" 2>&1 &
	pids+=($!)
	eval "pid_$name=$!"
	for i in $(seq 1 100); do
		grep -q listening "$log" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.2 # the second listener's line
	eval "port_$name=$(awk '/^listening (pop3 |[0-9])/{n=$NF; sub(/.*:/,"",n); print n; exit}' "$log")"
	eval "tlsport_$name=$(awk '/^listening pop3s/{n=$NF; sub(/.*:/,"",n); print n; exit}' "$log")"
	[ -n "$(eval echo "\$port_$name")" ] || die "$name did not start: $(cat "$log")"
}

tls=fixtures/generated/tls
refd_args=(--listen 127.0.0.1:0 --listen-tls 127.0.0.1:0 --cert $tls/server.pem --key $tls/server.key
	--users "$data/users" --maildirs "$data/maildirs" --auth-failure-delay 0 --quiet)
start refd "$bin/pop3refd" "${refd_args[@]}"
# The same with --wire-cache (a fresh folder each run): the LF-stored RETR from its wire-form copy.
rm -rf "$out/wirecache" && mkdir -p "$out/wirecache"
start refdwc "$bin/pop3refd" "${refd_args[@]}" --wire-cache "$out/wirecache"
start triv "$bin/bench/trivial" --port 0 --maildir "$data/session"
start trivbig "$bin/bench/trivial" --port 0 --maildir "$data/big"
start trivcrlf "$bin/bench/trivial" --port 0 --maildir "$data/bigcrlf"

if [ "$use_dovecot" = 1 ]; then
	say "starting Dovecot (harness/peers/dovecot.sh) with the same maildrops"
	# The peers' harness (docs/peers): Debian's packages in a private root, users user01.. with passwords
	# pass01.., each ~/Maildir under HOMES reset by maildir-reset.sh.
	if PEER_DIR=$dovecot_dir PEER_ACCOUNTS=67 harness/peers/dovecot.sh start >"$out/dovecot-start.log" 2>&1; then
		eval "$(PEER_DIR=$dovecot_dir harness/peers/dovecot.sh env)"
		port_dove=$DOVECOT_PORT
		pid_dove=$DOVECOT_PID
		reset=harness/peers/maildir-reset.sh homes=$dovecot_dir/home
		for i in $(seq -w 1 64); do "$reset" "user$i" "$data/session" "$homes"; done
		"$reset" user65 "$data/big" "$homes"
		"$reset" user66 "$data/huge" "$homes"
		"$reset" user67 "$data/bigcrlf" "$homes"
	else
		say "Dovecot did not start (see $out/dovecot-start.log): its column stays empty"
		use_dovecot=0
	fi
fi

# --- helpers ---------------------------------------------------------------------------------------------
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
median() {
	printf '%s\n' "$@" | awk NF | sort -g |
		awk '{a[NR]=$1} END{if (NR==0) print ""; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}
# lg LABEL ARGS...: run loadgen, keep its line in results.txt, print it.
lg() {
	local label=$1 line
	shift
	line=$("$L" "$@") || { say "$label: loadgen failed"; echo ""; return 0; }
	echo "$label $line" >>"$raw"
	echo "$line"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (a=="" || b=="" || b+0==0) print "-"; else printf "%.2f", a/b}'; }
verdict() { if awk -v x="$1" -v g="$2" 'BEGIN{exit !(x!="" && x!="-" && x+0 >= g+0)}'; then echo met; else echo MISSED; fi; }
verdict_below() { if awk -v x="$1" -v g="$2" 'BEGIN{exit !(x!="" && x!="-" && x+0 < g+0)}'; then echo met; else echo MISSED; fi; }

targets=(refd triv)
[ "$use_dovecot" = 1 ] && targets+=(dove)

rows=()
row() { rows+=("$(printf '%s|' "$@")"); }

# --- warm-up: first logins build caches and indexes (pop3refd's size cache, Dovecot's index) ----------
say "warm-up"
for t in "${targets[@]}"; do
	"$L" sessions -p "$(eval echo "\$port_$t")" -c 64 -t 1 >/dev/null || true
done

# --- sessions/s ------------------------------------------------------------------------------------------
for c in 1 8 64; do
	declare -A rate=() cpu=()
	for r in $(seq 1 "$runs"); do
		for t in "${targets[@]}"; do
			line=$(lg "sessions-$t-c$c" sessions -p "$(eval echo "\$port_$t")" -c "$c" -t "$secs" \
				--pid "$(eval echo "\$pid_$t")")
			rate[$t]="${rate[$t]:-} $(kv "$line" rate)"
			cpu[$t]="${cpu[$t]:-} $(kv "$line" server_cpu_us)"
			if [ "$t" = refd ]; then p99="${p99:-} $(kv "$line" p99_ms)"; fi
		done
	done
	m_refd=$(median ${rate[refd]}) m_triv=$(median ${rate[triv]}) m_dove=$(median ${rate[dove]:-})
	m_p99=$(median $p99)
	unset p99
	if [ "$c" = 64 ]; then
		row "sessions/s, $c clients (p99 ${m_p99} ms)" "$m_refd" "$m_triv" "${m_dove:--}" \
			"refd/triv $(ratio "$m_refd" "$m_triv"), refd/dovecot $(ratio "$m_refd" "$m_dove")" \
			">= 0.5 triv, >= 30 dovecot" \
			"$(verdict "$(ratio "$m_refd" "$m_triv")" 0.5)/$(verdict "$(ratio "$m_refd" "$m_dove")" 30)"
		# The same goal by CPU cost, which the machine's load disturbs much less than throughput: the
		# trivial responder's CPU per session over pop3refd's (Dovecot's is spread over many processes).
		c_refd=$(median ${cpu[refd]}) c_triv=$(median ${cpu[triv]})
		row "server CPU per session, µs, $c clients" "$c_refd" "$c_triv" "-" \
			"triv/refd $(ratio "$c_triv" "$c_refd")" ">= 0.5 (same goal, by CPU)" \
			"$(verdict "$(ratio "$c_triv" "$c_refd")" 0.5)"
	else
		row "sessions/s, $c clients (p99 ${m_p99} ms)" "$m_refd" "$m_triv" "${m_dove:--}" \
			"refd/triv $(ratio "$m_refd" "$m_triv"), refd/dovecot $(ratio "$m_refd" "$m_dove")" "" ""
	fi
	unset rate cpu
done

# --- RETR of the big message ---------------------------------------------------------------------------
# Two stored forms: LF line ends with dot lines (encoded on the way: the usual Maildir case), and the
# wire form itself (CRLF, nothing to stuff: sent as stored).
say "RETR ${big_mb} MB"
declare -A mb=() mcpu=()
for r in $(seq 1 "$runs"); do
	line=$(lg retr-refd retr -p "$port_refd" --first 65 -n 5 --pid "$pid_refd")
	mb[refd]="${mb[refd]:-} $(kv "$line" mbps)" mcpu[refd]="${mcpu[refd]:-} $(kv "$line" server_cpu_ms_per_100mb)"
	# --wire-cache: the first RETR of the first run makes the copy, every later one sends it (what a
	# first RETR costs is in docs/performance.md, round three).
	line=$(lg retr-refd-wirecache retr -p "$port_refdwc" --first 65 -n 5 --pid "$pid_refdwc")
	mb[wc]="${mb[wc]:-} $(kv "$line" mbps)" mcpu[wc]="${mcpu[wc]:-} $(kv "$line" server_cpu_ms_per_100mb)"
	line=$(lg retr-refd-tls retr -p "$tlsport_refd" --tls --first 65 -n 5 --pid "$pid_refd")
	mb[tls]="${mb[tls]:-} $(kv "$line" mbps)" mcpu[tls]="${mcpu[tls]:-} $(kv "$line" server_cpu_ms_per_100mb)"
	line=$(lg retr-triv retr -p "$port_trivbig" -n 5 --pid "$pid_trivbig")
	mb[triv]="${mb[triv]:-} $(kv "$line" mbps)" mcpu[triv]="${mcpu[triv]:-} $(kv "$line" server_cpu_ms_per_100mb)"
	mb[crlf]="${mb[crlf]:-} $(kv "$(lg retr-refd-crlf retr -p "$port_refd" --first 67 -n 5)" mbps)"
	mb[trivcrlf]="${mb[trivcrlf]:-} $(kv "$(lg retr-triv-crlf retr -p "$port_trivcrlf" -n 5)" mbps)"
	if [ "$use_dovecot" = 1 ]; then
		mb[dove]="${mb[dove]:-} $(kv "$(lg retr-dove retr -p "$port_dove" --first 65 -n 5)" mbps)"
		mb[dovecrlf]="${mb[dovecrlf]:-} $(kv "$(lg retr-dove-crlf retr -p "$port_dove" --first 67 -n 5)" mbps)"
	fi
done
m_refd=$(median ${mb[refd]}) m_tls=$(median ${mb[tls]}) m_triv=$(median ${mb[triv]}) m_dove=$(median ${mb[dove]:-})
m_crlf=$(median ${mb[crlf]}) m_trivcrlf=$(median ${mb[trivcrlf]}) m_dovecrlf=$(median ${mb[dovecrlf]:-})
row "RETR ${big_mb} MB LF-stored, plain, MB/s" "$m_refd" "$m_triv" "${m_dove:--}" "refd/triv $(ratio "$m_refd" "$m_triv")" \
	">= 0.8 triv" "$(verdict "$(ratio "$m_refd" "$m_triv")" 0.8)"
m_wc=$(median ${mb[wc]}) c_wc=$(median ${mcpu[wc]})
row "RETR ${big_mb} MB LF-stored, plain, --wire-cache, MB/s (CPU ${c_wc} ms/100 MB)" "$m_wc" "$m_triv" "-" \
	"refd/triv $(ratio "$m_wc" "$m_triv")" ">= 0.8 triv" "$(verdict "$(ratio "$m_wc" "$m_triv")" 0.8)"
row "RETR ${big_mb} MB CRLF-stored, plain, MB/s" "$m_crlf" "$m_trivcrlf" "${m_dovecrlf:--}" \
	"refd/triv $(ratio "$m_crlf" "$m_trivcrlf")" ">= 0.8 triv" "$(verdict "$(ratio "$m_crlf" "$m_trivcrlf")" 0.8)"
row "RETR ${big_mb} MB LF-stored, TLS, MB/s" "$m_tls" "-" "-" "tls/plain $(ratio "$m_tls" "$m_refd")" ">= 0.5 plain" \
	"$(verdict "$(ratio "$m_tls" "$m_refd")" 0.5)"
# The same by the server's CPU per 100 MB sent, which the machine's load moves less than MB/s.
c_refd=$(median ${mcpu[refd]}) c_triv=$(median ${mcpu[triv]}) c_tls=$(median ${mcpu[tls]})
row "server CPU per 100 MB of RETR, ms (LF-stored; TLS: ${c_tls})" "$c_refd" "$c_triv" "-" \
	"triv/refd $(ratio "$c_triv" "$c_refd"), plain/tls $(ratio "$c_refd" "$c_tls")" "" ""

# --- the 100,000-message maildrop ------------------------------------------------------------------------
say "login to STAT, ${huge} messages"
line=$(lg login-refd login -p "$port_refd" --first 66 -n $((runs * 2 + 1)))
refd_first=$(kv "$line" first_ms) refd_med=$(kv "$line" median_ms)
dove_med=- dove_first=-
if [ "$use_dovecot" = 1 ]; then
	line=$(lg login-dove login -p "$port_dove" --first 66 -n $((runs * 2 + 1)))
	dove_first=$(kv "$line" first_ms) dove_med=$(kv "$line" median_ms)
fi
row "login->STAT, ${huge} msgs, ms (first login)" "$refd_first" "-" "$dove_first" "" "" ""
row "login->STAT, ${huge} msgs, ms (median)" "$refd_med" "-" "$dove_med" "" "< 1000" "$(verdict_below "$refd_med" 1000)"

# --- pipelining, and a client that never reads ------------------------------------------------------------
say "pipelining"
declare -A pr=() pp=()
for r in $(seq 1 "$runs"); do
	for t in "${targets[@]}"; do
		line=$(lg "pipeline-$t" pipeline -p "$(eval echo "\$port_$t")" -n 10000)
		pr[$t]="${pr[$t]:-} $(kv "$line" rate)"
		pp[$t]="${pp[$t]:-} $(kv "$line" pingpong_rate)"
	done
done
m_refd=$(median ${pr[refd]}) m_triv=$(median ${pr[triv]}) m_dove=$(median ${pr[dove]:-})
m_ppr=$(median ${pp[refd]})
row "10,000 pipelined commands, cmds/s" "$m_refd" "$m_triv" "${m_dove:--}" \
	"piped/one-by-one $(ratio "$m_refd" "$m_ppr")" ">= 1 (no collapse)" "$(verdict "$(ratio "$m_refd" "$m_ppr")" 1)"
line=$(lg flood-refd flood -p "$port_refd" -t $([ $smoke = 1 ] && echo 1 || echo 3) --pid "$pid_refd")
growth=$(kv "$line" growth_kb)
row "never-reading client: server RSS growth, kB" "$growth" "-" "-" "sent $(kv "$line" sent_kb) kB of RETR" \
	"< 4096" "$(verdict_below "$growth" 4096)"

# --- idle sessions: a fresh pop3refd, so its RSS is only theirs ----------------------------------------
say "$idle idle authenticated sessions"
start refdidle "$bin/pop3refd" "${refd_args[@]}"
line=$(lg idle-refd idle -p "$port_refdidle" -c "$idle" -t 120 --user 'idle%05d' --pass 'pass%05d' \
	--pid "$pid_refdidle")
kill "$pid_refdidle" 2>/dev/null || true
held=$(kv "$line" held) rss=$(kv "$line" rss_kb) base=$(kv "$line" base_rss_kb)
rss_mb=$(awk -v r="$rss" 'BEGIN{printf "%.1f", r/1024}')
# Fewer than 10,000 held (the descriptor limit, or smoke): the idle server's own RSS plus 10,000 times
# what each session added.
per10k=$(awk -v r="$rss" -v b="$base" -v h="$held" 'BEGIN{if (h>0) printf "%.1f", (b+(r-b)*10000/h)/1024; else print "-"}')
row "idle sessions held / server RSS MB" "$held / $rss_mb" "-" "-" "RSS per 10,000: ${per10k} MB" "< 100 MB" \
	"$(verdict_below "$per10k" 100)"

# --- the suite -----------------------------------------------------------------------------------------
if [ "$use_suite" = 1 ]; then
	say "the suite at -j 1 and the default -j"
	for j in 1 default; do
		ts=()
		for r in $(seq 1 "$runs"); do
			jarg=()
			[ "$j" = default ] || jarg=(-j "$j")
			t0=$(date +%s.%N)
			"$bin/pop3spec" run --reference -q "${jarg[@]}" scenarios >/dev/null 2>&1 || true
			t1=$(date +%s.%N)
			ts+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')")
			echo "suite-j$j secs=${ts[-1]}" >>"$raw"
		done
		m=$(median "${ts[@]}")
		if [ "$j" = default ]; then
			row "suite wall time, default -j, s" "$m" "-" "-" "" "< 3" "$(verdict_below "$m" 3)"
		else
			row "suite wall time, -j 1, s" "$m" "-" "-" "" "" ""
		fi
	done
fi

# --- the project's own load generator ----------------------------------------------------------------------
# `pop3spec load` (docs/stress.md) side by side on pop3refd and Dovecot: randomised sessions checked against
# a model of every maildrop, so slower per session than loadgen's fixed one (the model, the checks, resets
# between sessions); what it adds is that the speed is measured on sessions whose every reply was right.
# It resets the accounts to its own fixture, so it runs last. The row has no goal: the goal's sessions/s
# are loadgen's fixed session above.
say "pop3spec load"
declare -A lr=() lv=()
load_secs=$([ $smoke = 1 ] && echo 1 || echo "$secs")
load_clients=$([ $smoke = 1 ] && echo 8 || echo 64)
load_one() { # NAME TARGET-ARGS...: one run, its sessions/s and violation count into lr/lv
	local name=$1 json=$out/load-$1.json
	shift
	rm -f "$json"
	"$bin/pop3spec" load "$@" --clients "$load_clients" --duration "$load_secs" --seed 1 -q \
		--json "$json" >"$out/load-$name.log" 2>&1 || true
	[ -s "$json" ] || { say "pop3spec load on $name wrote no summary ($out/load-$name.log)"; return 0; }
	lr[$name]="${lr[$name]:-} $(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["sessions_per_s"], 1))' "$json")"
	lv[$name]=$(( ${lv[$name]:-0} + $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["violations"]))' "$json") ))
	echo "load-$name $(tail -c 300 "$json" | tr -d '\n')" >>"$raw"
}
for r in $(seq 1 "$runs"); do
	load_one refd --reference
	[ "$use_dovecot" = 1 ] && load_one dove --target "$dovecot_dir/target.yaml"
done
m_refd=$(median ${lr[refd]:-}) m_dove=$(median ${lr[dove]:-})
row "pop3spec load sessions/s, ${load_clients} clients (violations: refd ${lv[refd]:-0}, dovecot ${lv[dove]:--})" \
	"${m_refd:--}" "-" "${m_dove:--}" "refd/dovecot $(ratio "$m_refd" "$m_dove")" "" ""

# --- the table -------------------------------------------------------------------------------------------
{
	echo "| measure | pop3refd | trivial | Dovecot | ratios | goal | |"
	echo "|---|---|---|---|---|---|---|"
	for r in "${rows[@]}"; do echo "|$r"; done
} >"$out/table.md"
{
	echo
	echo "pop3refd bench — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)," \
		"load average $(cut -d' ' -f1-3 /proc/loadavg); medians of $runs run(s)" \
		"$([ "$use_dovecot" = 1 ] && echo "; Dovecot $DOVECOT_VERSION")"
	column -t -s '|' -o ' | ' "$out/table.md" | sed '2d'
	echo
	echo "raw results: $raw; table: $out/table.md"
}

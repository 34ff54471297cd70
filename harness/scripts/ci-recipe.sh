#!/usr/bin/env bash
# ci-recipe.sh — the commands the CI jobs of docs/ci.md run, one subcommand per job step, so the recipes in
# the docs and the project's own CI (`ci-recipe.sh selftest`) run the same lines and cannot drift apart.
#
#   ci-recipe.sh deps              install the Debian/Ubuntu build dependencies (root or sudo)
#   ci-recipe.sh build             build bin/pop3spec (and bin/pop3refd) in the pop3spec source tree
#   ci-recipe.sh serve DIR         start pop3refd as a stand-in "server under test" on free loopback ports,
#                                  with 8 accounts and maildirs under DIR; write DIR/target.yaml and
#                                  DIR/pop3refd.pid (for a real server you write the profile yourself)
#   ci-recipe.sh baseline          run every scenario once without a baseline: $OUT/baseline.json, the file
#                                  to commit and name in $BASELINE
#   ci-recipe.sh shard I N         run shard I of N: $OUT/shard-I.json and $OUT/junit-I.xml (with
#                                  --baseline $BASELINE when that file exists)
#   ci-recipe.sh merge N           join the N shard reports: $OUT/results.json, $OUT/junit.xml, $OUT/index.html
#   ci-recipe.sh stop DIR          stop the server `serve` started
#   ci-recipe.sh selftest          all of the above against pop3refd, two shards, and check the artefacts
#                                  (the project's own CI runs this; about 1 minute)
#
# Settings (environment): POP3SPEC (the runner; default: bin/pop3spec of this tree when built, else
# `pop3spec` on PATH), TARGET (target profile; default pop3-target.yaml), BASELINE (a JSON report; used when
# the file exists), OUT (reports folder; default pop3spec-reports), JOBS (workers per shard; default 2).
# Exit status: that of the pop3spec command run (0 nothing failed, 1 a scenario failed, 2 usage/set-up).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${TARGET:-pop3-target.yaml}
OUT=${OUT:-pop3spec-reports}
JOBS=${JOBS:-2}
BASELINE=${BASELINE:-}
if [ -z "${POP3SPEC:-}" ]; then
	if [ -x "$HERE/bin/pop3spec" ]; then POP3SPEC=$HERE/bin/pop3spec; else POP3SPEC=pop3spec; fi
fi
log() { echo "ci-recipe: $*" >&2; }

baseline_args() {
	if [ -n "$BASELINE" ] && [ -f "$BASELINE" ]; then
		echo "--baseline $BASELINE"
	elif [ -n "$BASELINE" ]; then
		log "BASELINE=$BASELINE does not exist: running without a baseline (every failure counts)"
	fi
}

cmd_deps() {
	local pkgs="build-essential pkg-config libssl-dev openssl libyaml-dev libevent-dev libgsasl-dev libjansson-dev"
	local sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $pkgs
}

cmd_build() {
	make -C "$HERE" -j"$(nproc)" all
}

cmd_serve() {
	local dir=${1:?usage: ci-recipe.sh serve DIR}
	local server=${POP3REFD:-$HERE/bin/pop3refd}
	mkdir -p "$dir/maildirs"
	dir=$(cd "$dir" && pwd)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
		-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
	: >"$dir/users"
	for i in $(seq -w 1 8); do
		echo "ci$i:secret-$i" >>"$dir/users"
		mkdir -p "$dir/maildirs/ci$i/cur" "$dir/maildirs/ci$i/new" "$dir/maildirs/ci$i/tmp"
	done
	"$server" --listen 127.0.0.1:0 --listen-tls 127.0.0.1:0 --users "$dir/users" --maildirs "$dir/maildirs" \
		--cert "$dir/cert.pem" --key "$dir/key.pem" --auth-failure-delay 0 >"$dir/ports" 2>"$dir/server.log" &
	echo $! >"$dir/pop3refd.pid"
	local n
	for n in $(seq 100); do
		[ "$(grep -c '^listening' "$dir/ports" || true)" = 2 ] && break
		sleep 0.1
	done
	local port tls_port
	port=$(sed -n 's/^listening pop3 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/ports")
	tls_port=$(sed -n 's/^listening pop3s 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/ports")
	if [ -z "$port" ] || [ -z "$tls_port" ]; then
		cat "$dir/server.log" >&2
		log "the server did not start"
		return 2
	fi
	{
		echo "# Written by ci-recipe.sh serve: pop3refd standing in for the server under test."
		echo "name: pop3refd (CI stand-in)"
		echo "host: 127.0.0.1"
		echo "port: $port"
		echo "tls_port: $tls_port"
		echo "ca: cert.pem"
		echo "sni: localhost"
		echo "maildirs: maildirs"
		echo "accounts:"
		for i in $(seq -w 1 8); do echo "  - {user: ci$i, password: secret-$i}"; done
	} >"$dir/target.yaml"
	log "server on 127.0.0.1:$port (pop3s $tls_port); profile $dir/target.yaml"
}

cmd_stop() {
	local dir=${1:?usage: ci-recipe.sh stop DIR}
	[ -f "$dir/pop3refd.pid" ] || return 0
	kill "$(cat "$dir/pop3refd.pid")" 2>/dev/null || true
	rm -f "$dir/pop3refd.pid"
}

cmd_baseline() {
	mkdir -p "$OUT"
	# A baseline comes from a run without --baseline (the reports of a baseline run show adjusted verdicts).
	# Its exit status is ignored: failures are what a baseline records.
	"$POP3SPEC" run --target "$TARGET" -q -j "$JOBS" --json "$OUT/baseline.json" || [ $? -eq 1 ]
	log "wrote $OUT/baseline.json: commit it and set BASELINE to its path"
}

cmd_shard() {
	local i=${1:?usage: ci-recipe.sh shard I N} n=${2:?usage: ci-recipe.sh shard I N}
	mkdir -p "$OUT"
	# shellcheck disable=SC2046 # the baseline arguments are two words or none
	"$POP3SPEC" run --target "$TARGET" --shard "$i/$n" -j "$JOBS" $(baseline_args) \
		--json "$OUT/shard-$i.json" --junit "$OUT/junit-$i.xml"
}

cmd_merge() {
	local n=${1:?usage: ci-recipe.sh merge N} i files=()
	for i in $(seq 1 "$n"); do files+=("$OUT/shard-$i.json"); done
	"$POP3SPEC" report --merge "${files[@]}" --json "$OUT/results.json" --junit "$OUT/junit.xml" \
		--html "$OUT/index.html"
}

# docs/ci.md quotes this script: every YAML block there must parse, and every `ci-recipe.sh SUB` it calls
# must be a subcommand here with the right number of arguments.
check_docs() {
	python3 - "$HERE/docs/ci.md" "$0" <<-'PY'
		import re, sys
		doc = open(sys.argv[1]).read()
		script = open(sys.argv[2]).read()
		known = {"deps": 0, "build": 0, "serve": 1, "stop": 1, "baseline": 0, "shard": 2, "merge": 1,
		         "selftest": 0}
		for sub in known:
		    assert re.search(rf"^cmd_{sub}\(\)", script, re.M), f"ci-recipe.sh has no {sub}"
		blocks = re.findall(r"```yaml\n(.*?)```", doc, re.S)
		assert len(blocks) >= 2, "docs/ci.md: the GitHub and GitLab YAML blocks are missing"
		try:
		    import yaml
		except ImportError:
		    yaml = None
		calls = 0
		for b in blocks:
		    if yaml:
		        yaml.safe_load(b)
		    for m in re.finditer(r"ci-recipe\.sh (\w+)([^\n#]*)", b):
		        sub, args = m.group(1), re.sub(r"\$\{\{[^}]*\}\}", "X", m.group(2)).split()
		        assert sub in known, f"docs/ci.md calls unknown ci-recipe.sh {sub}"
		        assert len(args) == known[sub], f"docs/ci.md: ci-recipe.sh {sub} {' '.join(args)}: wrong arguments"
		        calls += 1
		print(f"ci-recipe: docs/ci.md: {len(blocks)} YAML blocks, {calls} ci-recipe.sh calls, all known",
		      file=sys.stderr)
	PY
}

cmd_selftest() {
	SELFTEST_TMP=$(mktemp -d /tmp/pop3spec-ci-recipe.XXXXXX)
	local tmp=$SELFTEST_TMP
	trap 'cmd_stop "$SELFTEST_TMP/server"; rm -rf "$SELFTEST_TMP"' EXIT
	if [ ! -x "$HERE/bin/pop3spec" ] || [ ! -x "$HERE/bin/pop3refd" ]; then cmd_build; fi
	check_docs
	cmd_serve "$tmp/server"
	TARGET=$tmp/server/target.yaml OUT=$tmp/reports
	cmd_baseline
	BASELINE=$OUT/baseline.json
	cmd_shard 1 2
	cmd_shard 2 2
	cmd_merge 2
	# The artefacts a CI job keeps: both shards' JUnit files, the merged JSON, JUnit and HTML.
	local f
	for f in junit-1.xml junit-2.xml results.json junit.xml index.html; do
		[ -s "$OUT/$f" ] || { log "FAIL: $OUT/$f missing or empty"; return 1; }
	done
	python3 - "$OUT" <<-'PY'
		import json, sys, xml.etree.ElementTree as ET
		out = sys.argv[1]
		base = json.load(open(f"{out}/baseline.json"))
		merged = json.load(open(f"{out}/results.json"))
		shards = [json.load(open(f"{out}/shard-{i}.json")) for i in (1, 2)]
		ids = lambda r: sorted(x["id"] for x in r["results"])
		# The two shards split the run without overlap and together are the whole run.
		a, b = ids(shards[0]), ids(shards[1])
		assert a and b and not set(a) & set(b), "shards overlap or one is empty"
		assert sorted(a + b) == ids(merged) == ids(base), "merged run differs from the baseline run"
		for f in ("junit-1.xml", "junit-2.xml", "junit.xml"):
		    root = ET.parse(f"{out}/{f}").getroot()
		    assert root.iter("testcase"), f
		assert open(f"{out}/index.html").read().lstrip().lower().startswith("<!doctype html"), "index.html"
		print(f"ci-recipe: selftest ok: {len(a)} + {len(b)} scenarios in two shards, merged "
		      f"{merged['summary']}", file=sys.stderr)
	PY
}

sub=${1:-}
[ $# -gt 0 ] && shift
case "$sub" in
deps | build | serve | stop | baseline | shard | merge | selftest) "cmd_$sub" "$@" ;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac

#!/bin/sh
# valgrind-suite.sh — the suite pass of `make valgrind`: the whole default suite against the reference server
# with both programs under valgrind's memcheck. pop3spec runs under valgrind directly (exit 99 on an error);
# the pop3refd it starts runs under valgrind through a wrapper named by POP3REFD (runner/reference.c), each
# process writing its own log. pop3spec ignores the server's exit status and kills a server that has not
# stopped 5 s after SIGTERM, so the logs are the verdict: every one must end with valgrind's
# "ERROR SUMMARY: 0 errors" (leaks count: --errors-for-leak-kinds); a log without that line is a server that
# did not exit cleanly, which fails too. docs/testing.md says why the suite, not the e2e files, carries most
# of the server's valgrind coverage.
#   BIN=bin           where pop3spec and pop3refd are
#   VALGRIND_EXTRA, POP3REFD_VALGRIND_EXTRA   more valgrind options for both programs, for pop3refd only
#                     (e.g. "--errors-for-leak-kinds=all" to see that a report fails the gate)
#   VALGRIND_SUITE_ARGS  what pop3spec run is given after -j 2 (default: scenarios)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BIN=${BIN:-bin}
case $BIN in /*) ;; *) BIN=$root/$BIN ;; esac
command -v valgrind >/dev/null || { echo "valgrind-suite: valgrind is not installed (apt-get install valgrind)" >&2
                                    exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pop3spec-valgrind-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
vg="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect ${VALGRIND_EXTRA:-}"
cat >"$tmp/pop3refd" <<WRAP
#!/bin/sh
exec $vg ${POP3REFD_VALGRIND_EXTRA:-} --log-file=$tmp/pop3refd.%p.log $BIN/pop3refd "\$@"
WRAP
chmod +x "$tmp/pop3refd"

rc=0
# shellcheck disable=SC2086
POP3REFD=$tmp/pop3refd $vg -q --error-exitcode=99 "$BIN/pop3spec" run --reference -q -j 2 ${VALGRIND_SUITE_ARGS:-scenarios} || rc=$?

logs=0
for log in "$tmp"/pop3refd.*.log; do
	[ -e "$log" ] || continue
	logs=$((logs + 1))
	if ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
		echo "valgrind-suite: pop3refd under valgrind reported errors or did not exit cleanly:" >&2
		cat "$log" >&2
		rc=1
	fi
done
if [ "$logs" -eq 0 ]; then
	echo "valgrind-suite: no pop3refd ran under valgrind (POP3REFD wrapper not used?)" >&2
	rc=1
fi
[ "$rc" -ne 0 ] || echo "valgrind-suite: pop3spec and $logs pop3refd process(es) clean under valgrind"
exit "$rc"

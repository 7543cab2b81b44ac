#!/bin/bash
# Twofold beside its performance bars, back to back on this machine, with
# the same load generator (twofold loadtest) and the same flags:
#   RADIUS TOTP accept: FreeRADIUS 3.2 with rlm_totp (../shared/peers/freeradius-totp)
#   REST validate:      a bare Go HTTPS server answering fixed JSON (bench/fixedjson)
# Each comparison is repeated REPS times, interleaved (peer, Twofold SQLite,
# Twofold PostgreSQL, and again), and printed as ratios: absolute figures on a
# shared machine move from run to run, ratios measured back to back far less.
#
# Usage: bench/run.sh [options]
#   --reps N          repetitions (3)
#   --duration D      seconds per run (10)
#   --concurrency C   requests in flight (16)
#   --users N         synthetic users per protocol and store (100000): at least
#                     the rate times the duration, since each is sent one code
#                     per 30 s step (a run that has sent each user a code
#                     stops early: its rate stands, over a shorter time)
#   --peer-users N    users of the FreeRADIUS peer (300000): it answers faster
#   --postgres URL    also measure Twofold on PostgreSQL: a database URL whose
#                     user may create databases (it makes and drops twofold_bench)
#   --peer DIR        the peer's directory (../shared/peers/freeradius-totp
#                     beside the repository, or $TWOFOLD_PEER_DIR)
#   --work DIR        scratch directory (a new one under /tmp)
#   --wrong           send wrong codes (the reject and locked paths) instead
#   --twofold BIN     measure this twofold binary (an older one, for a before and
#                     after) instead of building the repository's; the load test
#                     is always the repository's
# Needs: go, freeradius (Debian package freeradius), python3, psql for --postgres.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
reps=3 duration=10 concurrency=16 users=100000 peer_users=300000 pg="" wrong=""
peer=${TWOFOLD_PEER_DIR:-$repo/../shared/peers/freeradius-totp}
work="" server=""
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--concurrency) concurrency=$2; shift 2 ;;
	--users) users=$2; shift 2 ;;
	--peer-users) peer_users=$2; shift 2 ;;
	--postgres) pg=$2; shift 2 ;;
	--peer) peer=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--wrong) wrong=--wrong; shift ;;
	--twofold) server=$2; shift 2 ;;
	*) echo "bench/run.sh: unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
	esac
done
[ -f "$peer/setup.sh" ] || { echo "bench/run.sh: no peer at $peer; give --peer DIR (the freeradius-totp directory)" >&2; exit 2; }
command -v freeradius >/dev/null || { echo "bench/run.sh: freeradius is not installed (apt-get install freeradius)" >&2; exit 2; }
[ -n "$work" ] || work=$(mktemp -d /tmp/twofold-bench.XXXXXX)
mkdir -p "$work"
log() { echo "bench: $*" >&2; }

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "$pg" ]; then psql -q "$pg" -c 'DROP DATABASE IF EXISTS twofold_bench' >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

log "building twofold and the fixed-JSON server into $work"
(cd "$repo" && go build -o "$work/twofold" ./cmd/twofold && go build -o "$work/fixedjson" ./bench/fixedjson)
tf=$work/twofold         # the load test
srv=${server:-$tf}       # the server measured, and its CLI
log "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

# wait_for LOGFILE PATTERN: until the server says it is ready.
wait_for() {
	for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "bench: no \"$2\" in $1:" >&2; tail -5 "$1" >&2; exit 1
}

# The peers.
log "setting up FreeRADIUS with $peer_users users (the peer's setup.sh)"
bash "$peer/setup.sh" "$work/frpeer" "$peer_users" >/dev/null
# Rejects are measured too: no delay for them, as Twofold has none.
sed -i 's/^\(\s*reject_delay\s*=\s*\).*/\10/' "$work/frpeer/raddb/radiusd.conf"
freeradius -d "$work/frpeer/raddb" -f >"$work/frpeer/log/stdout" 2>&1 &
frpid=$!; pids+=("$frpid")
"$work/fixedjson" -addr 127.0.0.1:18444 -dir "$work" 2>"$work/fixedjson.log" &
fjpid=$!; pids+=("$fjpid")
wait_for "$work/fixedjson.log" serving
echo "any" >"$work/fixedjson.key.txt"

# A Twofold server per store, with the users of each protocol: one
# organization each, so that no user gets two codes of one step.
# start_twofold NAME DATABASE_URL RADIUS_PORT HTTPS_PORT
start_twofold() {
	local name=$1 db=$2 rport=$3 hport=$4 d=$work/$1
	mkdir -p "$d"
	local env=(TWOFOLD_DATA_DIR="$d")
	[ -n "$db" ] && env+=(TWOFOLD_DATABASE_URL="$db")
	log "$name: making $users users for RADIUS and $users for REST"
	env "${env[@]}" "$srv" user import bench-radius --synthetic "$users" --seed-out "$d/radius.csv" >/dev/null
	env "${env[@]}" "$srv" user import bench-rest --synthetic "$users" --seed-out "$d/rest.csv" >/dev/null
	head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$d/secret"
	env "${env[@]}" "$srv" radius client add bench-radius --name bench --cidr 127.0.0.1 --secret-stdin <"$d/secret" 2>/dev/null
	env "${env[@]}" "$srv" apikey create bench-rest --name bench >"$d/apikey" 2>/dev/null
	env "${env[@]}" "$srv" serve --http-addr "127.0.0.1:$hport" --radius-addr "127.0.0.1:$rport" --metrics-addr off >"$d/serve.log" 2>&1 &
	local pid=$!; pids+=("$pid")
	echo "$pid" >"$d/pid"
	wait_for "$d/serve.log" serving
}
start_twofold sqlite "" 18130 18443
if [ -n "$pg" ]; then
	psql -q "$pg" -c 'DROP DATABASE IF EXISTS twofold_bench' -c 'CREATE DATABASE twofold_bench' >/dev/null
	pgdb=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/twofold_bench")))' "$pg")
	start_twofold postgres "$pgdb" 18131 18445
fi
for _ in $(seq 100); do
	echo "User-Name=x,User-Password=000000" | radclient -t 1 -r 1 127.0.0.1:18120 auth "$(cat "$work/frpeer/shared_secret")" >/dev/null 2>&1 && break
	sleep 0.2
done

# steal: the CPU time the hypervisor gave others so far, in clock ticks of
# all CPUs (/proc/stat): on a shared virtual machine a run it took much
# of is slower by as much, whatever is measured.
steal() { awk '/^cpu /{print $9}' /proc/stat; }

# run LABEL PID loadtest-args...: one run, its "result" line kept as LABEL.
results=$work/results
: >"$results"
declare -A last_end
run() {
	local label=$1 pid=$2 slot=$3; shift 3
	# The same users are sent codes again only in a later 30 s step.
	if [ -n "${last_end[$slot]:-}" ]; then
		local wait=$(( last_end[$slot] + 31 - $(date +%s) ))
		[ "$wait" -gt 0 ] && { log "waiting ${wait}s for a new step for $slot"; sleep "$wait"; }
	fi
	local line steal0 steal1
	# PostgreSQL's deferred work (autovacuum, a checkpoint) done now, so
	# that no run pays for another's: each starts just after a
	# checkpoint, the same for all (and pessimistic for Twofold on
	# PostgreSQL, whose first write to each page after it logs the page).
	[ -n "$pg" ] && psql -q "$pgdb" -c VACUUM -c CHECKPOINT >/dev/null
	steal0=$(steal)
	line=$("$tf" loadtest "$@" --concurrency "$concurrency" --duration "${duration}s" --server-pid "$pid" $wrong 2>&1 | tee -a "$work/loadtest.log" | grep '^result ') ||
		{ echo "bench: $label: the load test failed; see $work/loadtest.log" >&2; exit 1; }
	steal1=$(steal)
	last_end[$slot]=$(date +%s)
	line="$line steal_pct=$(( (steal1 - steal0) * 100 / ($(getconf CLK_TCK) * duration * $(nproc)) ))"
	echo "$label $line" >>"$results"
	log "$label: $line"
}

for rep in $(seq "$reps"); do
	log "repetition $rep of $reps"
	run "radius peer" "$frpid" peer-radius radius --users-file "$work/frpeer/users.tsv" --secret-file "$work/frpeer/shared_secret" --addr 127.0.0.1:18120 --answers-without-message-authenticator
	run "radius sqlite" "$(cat "$work/sqlite/pid")" sqlite-radius radius --users-file "$work/sqlite/radius.csv" --secret-file "$work/sqlite/secret" --addr 127.0.0.1:18130
	[ -n "$pg" ] && run "radius postgres" "$(cat "$work/postgres/pid")" postgres-radius radius --users-file "$work/postgres/radius.csv" --secret-file "$work/postgres/secret" --addr 127.0.0.1:18131
	run "rest peer" "$fjpid" peer-rest rest --users-file "$work/sqlite/rest.csv" --api-key-file "$work/fixedjson.key.txt" --url https://127.0.0.1:18444 --insecure
	run "rest sqlite" "$(cat "$work/sqlite/pid")" sqlite-rest rest --users-file "$work/sqlite/rest.csv" --api-key-file "$work/sqlite/apikey" --url https://127.0.0.1:18443 --insecure
	[ -n "$pg" ] && run "rest postgres" "$(cat "$work/postgres/pid")" postgres-rest rest --users-file "$work/postgres/rest.csv" --api-key-file "$work/postgres/apikey" --url https://127.0.0.1:18445 --insecure
done

# The table: per repetition Twofold's rate over the peer's of the same
# repetition, and the median of those; CPU per answer as medians.
python3 - "$results" "$reps" "$concurrency" <<'PY'
import sys, statistics
path, reps, conc = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = {}
for line in open(path):
    words = line.split()
    label = " ".join(words[:2])
    kv = dict(w.split("=", 1) for w in words[3:])
    runs.setdefault(label, []).append(kv)
def med(xs): return statistics.median(xs) if xs else float("nan")
def ratios(proto, store):
    a, b = runs.get(f"{proto} {store}", []), runs.get(f"{proto} peer", [])
    return [float(x["rps"]) / float(y["rps"]) for x, y in zip(a, b) if float(y["rps"]) > 0]
def cpu(label): return med([float(r["cpu_us_per_answer"]) for r in runs.get(label, [])])
print(f"\n{reps} interleaved repetitions, {conc} in flight; each ratio is Twofold's requests/s over the peer's in the same repetition (median, and each repetition)\n")
print("| | Twofold SQLite / peer | Twofold PostgreSQL / peer | Twofold CPU per answer (SQLite, PostgreSQL) | peer CPU per answer |")
print("|---|---|---|---|---|")
names = {"radius": "RADIUS TOTP accept vs FreeRADIUS rlm_totp", "rest": "REST validate vs a bare Go HTTPS server answering fixed JSON"}
for proto in ("radius", "rest"):
    cells = []
    for store in ("sqlite", "postgres"):
        r = ratios(proto, store)
        cells.append(f"{med(r):.2f} ({', '.join(f'{x:.2f}' for x in r)})" if r else "not measured")
    pg = cpu(f"{proto} postgres")
    tfcpu = f"{cpu(proto + ' sqlite'):.0f} µs" + (f", {pg:.0f} µs" if pg == pg else "")
    print(f"| {names[proto]} | {cells[0]} | {cells[1]} | {tfcpu} | {cpu(proto + ' peer'):.0f} µs |")
print("\nPer run (requests/s, p50/p99 in µs, errors, CPU time the hypervisor took for others):")
for label, rs in runs.items():
    print(f"  {label:16s} " + "; ".join(f"{float(r['rps']):.0f}/s p50 {r['p50_us']} p99 {r['p99_us']} err {r['errors']} steal {r['steal_pct']}%" + (" exhausted" if r['exhausted'] == 'true' else "") for r in rs))
PY
echo "(the machine's load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); raw results in $results)"

#!/usr/bin/env bash
# Load test of `tokenguard serve`: wrk against /check, and the same wrk run
# against nginx answering a static `return 200` on the same machine, on
# loopback, bounded in time. Prints both throughputs, their ratio, p50/p99
# latency and errors, and whether the target is met: /check throughput at
# least half of nginx's, p99 under 2 ms, no errors.
#
#   bench/load/run.sh [path/to/tokenguard]     (default: build/tokenguard)
#
# Environment: DURATION (seconds per run, default 5), ROUNDS (runs of each,
# alternating, default 3; the median run by throughput is reported),
# CONNECTIONS (default 16), WRK_THREADS (default 1), NICE (a nice(1)
# adjustment for both servers and wrk, e.g. -10 on a machine shared with
# other work; negative values need root; default none), RT=1 (run both
# servers and wrk under SCHED_RR with chrt(1), ahead of everything else on a
# shared machine; needs root; bounded by the kernel's real-time throttling).
# Exit status: 0 when the target is met, 3 when it is not, 1 on a setup error.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tg=${1:-$root/build/tokenguard}
duration=${DURATION:-5}
rounds=${ROUNDS:-3}
connections=${CONNECTIONS:-16}
wrk_threads=${WRK_THREADS:-1}
niced=()
[ -n "${NICE:-}" ] && niced=(nice -n "$NICE")
[ "${RT:-0}" = 1 ] && niced=(chrt -r 10)

nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
for tool in wrk curl "$nginx_bin"; do
  command -v "$tool" >/dev/null || { echo "load: $tool is needed (Debian: wrk nginx-light curl)"; exit 1; }
done
[ -x "$tg" ] || { echo "load: no tokenguard binary at $tg"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tokenguard-load.XXXXXX")
chmod 755 "$work"
tg_pid=
nginx_pid=
cleanup() {
  for pid in $tg_pid $nginx_pid; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $tg_pid $nginx_pid; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
random_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    port_is_free "$p" && { echo "$p"; return; }
  done
}

# tokenguard on the shipped example store, read-only (nothing is written).
: >"$work/tokenguard.log"
"${niced[@]}" "$tg" serve --store "$root/examples/tokens.json" --read-only --listen 127.0.0.1:0 \
  2>"$work/tokenguard.log" &
tg_pid=$!
tg_port=
for _ in $(seq 200); do
  tg_port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$work/tokenguard.log" | head -n1)
  [ -n "$tg_port" ] && break
  sleep 0.05
done
[ -n "$tg_port" ] || { echo "load: tokenguard did not start"; cat "$work/tokenguard.log"; exit 1; }

# nginx with as many workers as cores, like tokenguard's worker threads.
mkdir -p "$work/nginx/logs"
nginx_port=$(random_port)
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path temp_body;
  proxy_temp_path temp_proxy;
  fastcgi_temp_path temp_fastcgi;
  uwsgi_temp_path temp_uwsgi;
  scgi_temp_path temp_scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 200; }
  }
}
EOF
"${niced[@]}" "$nginx_bin" -p "$work/nginx/" -c "$work/nginx/nginx.conf" -g 'daemon off;' \
  2>"$work/nginx.err" &
nginx_pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break
  sleep 0.05
done
curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" || { echo "load: nginx did not start"; cat "$work/nginx.err"; exit 1; }

# An nginx auth_request sub-request as it reaches tokenguard: allowed, with a
# limitTo rule that has a QueryParam clause (the shared reporting token).
check_headers=(
  -H 'Authorization: Basic YW5uYTpyZXAwcnQxbmc1aGFyZWQ4dG9rZW5xMnc0ZTZyOHQweQ=='
  -H 'X-Original-Method: GET'
  -H 'X-Original-URI: https://jira.example.com/rest/api/2/search?jql=project%3DOPS&maxResults=50'
  -H 'X-Forwarded-For: 198.51.100.4'
)
status=$(curl -s -o /dev/null -w '%{http_code}' "${check_headers[@]}" "http://127.0.0.1:$tg_port/check")
[ "$status" = 200 ] || { echo "load: the benchmark request is not allowed ($status)"; exit 1; }

# Milliseconds from a wrk latency ("415.00us", "1.20ms", "2.00s").
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}

# run NAME URL [wrk args...] -> "rps p50_ms p99_ms errors"
run() {
  local name=$1 url=$2
  shift 2
  "${niced[@]}" wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" --latency "$@" "$url" \
    >"$work/$name.wrk" 2>&1
  local rps p50 p99 non2xx socket
  rps=$(awk '/^Requests\/sec:/ { printf "%d", $2 }' "$work/$name.wrk")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$work/$name.wrk")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$work/$name.wrk")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$work/$name.wrk")
  socket=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$work/$name.wrk")
  echo "$rps $p50 $p99 $(( ${non2xx:-0} + ${socket:-0} ))"
}

echo "# wrk -t$wrk_threads -c$connections -d${duration}s, $rounds rounds each, $(nproc) cores," \
  "load average $(cut -d' ' -f1 /proc/loadavg)${NICE:+, nice $NICE}$([ "${RT:-0}" = 1 ] && echo ', SCHED_RR')"
# Warm both up (connections, per-thread buffers, caches).
wrk -t1 -c"$connections" -d1s "${check_headers[@]}" "http://127.0.0.1:$tg_port/check" >/dev/null 2>&1
wrk -t1 -c"$connections" -d1s "http://127.0.0.1:$nginx_port/" >/dev/null 2>&1

: >"$work/tokenguard.rounds"
: >"$work/nginx.rounds"
for round in $(seq "$rounds"); do
  t=$(run "tokenguard-$round" "http://127.0.0.1:$tg_port/check" "${check_headers[@]}")
  n=$(run "nginx-$round" "http://127.0.0.1:$nginx_port/")
  echo "$t" >>"$work/tokenguard.rounds"
  echo "$n" >>"$work/nginx.rounds"
  read -r trps tp50 tp99 terr <<<"$t"
  read -r nrps np50 np99 nerr <<<"$n"
  printf 'round %d: tokenguard /check %8s req/s p50 %s ms p99 %s ms errors %s | nginx return 200 %8s req/s p50 %s ms p99 %s ms errors %s\n' \
    "$round" "$trps" "$tp50" "$tp99" "$terr" "$nrps" "$np50" "$np99" "$nerr"
done

# tokenguard's own view: its check latency histogram (time inside the server,
# from a parsed header to a queued answer), as the bucket holding p50 and p99.
curl -s "http://127.0.0.1:$tg_port/metrics" >"$work/metrics"
server_quantile() {
  awk -v q="$1" '
    /^tokenguard_check_duration_seconds_bucket/ {
      match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
      n++; les[n] = le; counts[n] = $2 }
    END {
      total = counts[n]
      for (i = 1; i <= n; i++) if (counts[i] >= q * total) {
        if (les[i] == "+Inf") { print "> " les[i - 1] * 1000 " ms"; exit }
        printf "<= %g ms\n", les[i] * 1000; exit } }' "$work/metrics"
}

median() { sort -n -k1,1 "$1" | awk -v n="$rounds" 'NR == int((n + 1) / 2)'; }
read -r trps tp50 tp99 _ <<<"$(median "$work/tokenguard.rounds")"
read -r nrps np50 np99 _ <<<"$(median "$work/nginx.rounds")"
terr=$(awk '{ s += $4 } END { print s + 0 }' "$work/tokenguard.rounds")
nerr=$(awk '{ s += $4 } END { print s + 0 }' "$work/nginx.rounds")
ratio=$(awk -v a="$trps" -v b="$nrps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')

echo
echo "tokenguard /check   : $trps req/s, p50 $tp50 ms, p99 $tp99 ms, errors $terr (median of $rounds)"
echo "nginx return 200    : $nrps req/s, p50 $np50 ms, p99 $np99 ms, errors $nerr (median of $rounds)"
echo "ratio /check / nginx: $ratio"
echo "inside tokenguard    : p50 $(server_quantile 0.5), p99 $(server_quantile 0.99), p99.9 $(server_quantile 0.999) (its /metrics histogram, every round)"

met=yes
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.5) }' || { met=no; echo "target missed: ratio $ratio < 0.50"; }
awk -v p="$tp99" 'BEGIN { exit !(p < 2.0) }' || { met=no; echo "target missed: p99 $tp99 ms >= 2 ms"; }
[ "$terr" = 0 ] || { met=no; echo "target missed: $terr errors"; }
echo "target (ratio >= 0.5, p99 < 2 ms, no errors) met: $met"
[ "$met" = yes ] || exit 3

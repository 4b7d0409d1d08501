#!/usr/bin/env bash
# Integration tests of `tokenguard serve` behind a real nginx, on loopback only.
#
#   tests/integration/run.sh [path/to/tokenguard]      (default: build/tokenguard)
#
# Starts three tokenguard servers (an owned store with the management API, a
# --read-only one, and one to stop with SIGTERM), and nginx from Debian's
# packages with examples/nginx/nginx.conf (auth_request to tokenguard, realip,
# and its stand-in application), all on free ports under a temporary
# directory; drives them with curl; stops everything it started.
# Prints "N passed, M failed" last; exits 0 only when nothing failed.
# Exits 77 (ctest: skipped) when nginx or curl is missing, unless
# TOKENGUARD_REQUIRE_INTEGRATION=1 (CI), which makes that a failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tg=${1:-$root/build/tokenguard}

nginx_bin=$(command -v nginx || true)
[ -n "$nginx_bin" ] || { [ -x /usr/sbin/nginx ] && nginx_bin=/usr/sbin/nginx; }
if [ -z "$nginx_bin" ] || ! command -v curl >/dev/null; then
  echo "integration: nginx and curl are needed (Debian: apt-get install nginx-light curl)"
  [ "${TOKENGUARD_REQUIRE_INTEGRATION:-0}" = 1 ] && exit 1
  exit 77
fi
if [ ! -x "$tg" ]; then
  echo "integration: no tokenguard binary at $tg"
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tokenguard-it.XXXXXX")
chmod 755 "$work"  # nginx workers may run as nobody
pids=()
nginx_pid=

cleanup() {
  local pid
  for pid in "${pids[@]}" $nginx_pid; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}" $nginx_pid; do wait "$pid" 2>/dev/null || true; done
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "integration: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "integration: interrupted"; exit 1' INT TERM
# A hung step must not hang CI: give up after four minutes.
(
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep 240 &
  sleeper=$!
  wait "$sleeper" && echo "integration: timed out" >&2 && kill -TERM $$
) >/dev/null 2>&1 &
watchdog=$!
pids+=("$watchdog")

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s: %s\n' "$1" "$2"; }

# The first value of a header in the last response of $work/headers (curl -D).
header() {
  tr -d '\r' <"$work/headers" | awk -v want="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" '
    /^HTTP\// { value = "" }
    { i = index($0, ":"); if (i > 0 && value == "" && tolower(substr($0, 1, i - 1)) == want) value = substr($0, i + 2) }
    END { print value }'
}

CURL=(curl -sS --noproxy '*' --max-time 15)

# http NAME STATUS REASON [curl arguments...]
# Checks the status and X-Tokenguard-Reason ("-": the header must be absent).
# The body is left in $work/body and the headers in $work/headers.
http() {
  local name=$1 want_status=$2 want_reason=$3
  shift 3
  local status
  if ! status=$("${CURL[@]}" -o "$work/body" -D "$work/headers" -w '%{http_code}' "$@" \
    2>"$work/curl.err"); then
    fail "$name" "curl failed: $(cat "$work/curl.err")"
    return 1
  fi
  local reason
  reason=$(header X-Tokenguard-Reason)
  if [ "$status" != "$want_status" ]; then
    fail "$name" "status $status, expected $want_status (reason '$reason', body: $(head -c 300 "$work/body"))"
    return 1
  fi
  if [ "$want_reason" = - ] && [ -n "$reason" ]; then
    fail "$name" "unexpected X-Tokenguard-Reason: $reason"
    return 1
  fi
  if [ "$want_reason" != - ] && [ "$reason" != "$want_reason" ]; then
    fail "$name" "reason '$reason', expected '$want_reason'"
    return 1
  fi
  ok "$name"
}

# expect_body NAME FIXED_STRING: the last body contains the string.
expect_body() {
  if grep -qF -- "$2" "$work/body"; then ok "$1"; else fail "$1" "body lacks '$2': $(head -c 300 "$work/body")"; fi
}
# expect_header NAME HEADER VALUE: the last response carried that exact value.
expect_header() {
  local got
  got=$(header "$2")
  if [ "$got" = "$3" ]; then ok "$1"; else fail "$1" "$2 is '$got', expected '$3'"; fi
}

# start_tokenguard NAME ARGS...: starts `tokenguard serve` on a free port;
# sets NAME_port and NAME_pid.
start_tokenguard() {
  local name=$1
  shift
  : >"$work/$name.log"
  "$tg" serve --listen 127.0.0.1:0 "$@" >"$work/$name.out" 2>"$work/$name.log" &
  local pid=$! port= i
  pids+=("$pid")
  for i in $(seq 200); do
    port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$work/$name.log" | head -n1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$port" ]; then
    echo "integration: tokenguard ($name) did not start:"
    cat "$work/$name.log"
    exit 1
  fi
  printf -v "${name}_port" '%s' "$port"
  printf -v "${name}_pid" '%s' "$pid"
}

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
random_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    port_is_free "$p" && { echo "$p"; return; }
  done
}

# poll SECONDS COMMAND...: until the command succeeds (status 1 on timeout).
poll() {
  local seconds=$1 i
  shift
  for i in $(seq $((seconds * 20))); do
    "$@" && return 0
    sleep 0.05
  done
  return 1
}
# wait_for NAME SECONDS COMMAND...: poll, and count a timeout as a failure.
wait_for() {
  local name=$1
  shift
  poll "$@" || { fail "$name" "timed out after ${1}s"; return 1; }
}

metric() {  # metric PORT 'name{labels}' -> value (empty when absent)
  "${CURL[@]}" "http://127.0.0.1:$1/metrics" | awk -v k="$2" '$1 == k { print $2 }'
}

cp "$here/tokens.json" "$work/main.json"
cp "$here/tokens.json" "$work/ro.json"
cp "$here/tokens.json" "$work/drain.json"

# ---------------------------------------------------------------------------
echo "# starting tokenguard (owned, read-only, drain) and nginx"

start_tokenguard main --store "$work/main.json" --auth-mode both --admin admin \
  --trusted-proxy 127.0.0.1/32 --audit-log "$work/audit.jsonl"
start_tokenguard ro --store "$work/ro.json" --read-only --trusted-proxy 127.0.0.1/32
start_tokenguard drain --store "$work/drain.json"

mkdir -p "$work/nginx/logs"
chmod 755 "$work/nginx"
for attempt in 1 2 3 4 5; do
  nginx_port=$(random_port)
  app_port=$(random_port)
  [ "$nginx_port" != "$app_port" ] || continue
  sed -e "s/127\.0\.0\.1:8080/127.0.0.1:$main_port/g" \
    -e "s/127\.0\.0\.1:8081/127.0.0.1:$app_port/g" \
    -e "s/127\.0\.0\.1:8000/127.0.0.1:$nginx_port/g" \
    "$root/examples/nginx/nginx.conf" >"$work/nginx/nginx.conf"
  for want in "server 127.0.0.1:$main_port" "listen 127.0.0.1:$app_port" "listen 127.0.0.1:$nginx_port" \
    "auth_request /_tokenguard" "X-Original-URI" "set_real_ip_from 127.0.0.1"; do
    grep -qF "$want" "$work/nginx/nginx.conf" || {
      echo "integration: examples/nginx/nginx.conf no longer has '$want'"
      exit 1
    }
  done
  "$nginx_bin" -p "$work/nginx/" -c "$work/nginx/nginx.conf" -g 'daemon off;' \
    2>"$work/nginx/stderr" &
  nginx_pid=$!
  if poll 5 "${CURL[@]}" -o /dev/null "http://127.0.0.1:$app_port/" 2>/dev/null; then
    break
  fi
  kill -TERM "$nginx_pid" 2>/dev/null
  wait "$nginx_pid" 2>/dev/null
  nginx_pid=
done
if [ -z "$nginx_pid" ]; then
  echo "integration: nginx did not start:"
  cat "$work/nginx/stderr" "$work/nginx/logs/error.log" 2>/dev/null
  exit 1
fi

N="http://127.0.0.1:$nginx_port"
TG="http://127.0.0.1:$main_port"
RO="http://127.0.0.1:$ro_port"
M="$N/rest/extender/1.0/tokenTools"

alice=alice-secret-00000000000000000001
bob=bob-secret-000000000000000000001
admin=admin-secret-00000000000000000001
shared=shared-secret-0000000000000000001

# ---------------------------------------------------------------------------
echo "# every decision through nginx auth_request"

http "allowed, Basic" 200 - -u "alice:$alice" "$N/api/hello?x=1" &&
  expect_body "the application sees the identity" "user=alice label=alice reads and writes the API method=GET uri=/api/hello?x=1"
http "allowed, Bearer" 200 - -H "Authorization: Bearer $alice" "$N/api/hello" &&
  expect_body "Bearer identity" "user=alice "
http "allowed, POST" 200 - -u "alice:$alice" -X POST --data 'x' "$N/api/items"
http "a client cannot forge the identity header" 200 - -u "alice:$alice" \
  -H 'X-Tokenguard-User: root' "$N/api/hello" && expect_body "identity not forged" "user=alice "
http "user-less token, Basic user is the identity" 200 - -u "carol:$shared" "$N/api/hello" &&
  expect_body "Basic user name passed on" "user=carol label=shared, no user"
http "malformed_request (%2F in the path)" 403 malformed_request -u "alice:$alice" "$N/api/a%2Fb"
http "missing_credentials" 401 missing_credentials "$N/api/hello" &&
  expect_header "401 asks for Basic credentials" WWW-Authenticate 'Basic realm="tokenguard"'
http "malformed_credentials (bad base64)" 401 malformed_credentials \
  -H 'Authorization: Basic !!!notbase64' "$N/api/hello"
http "nginx refuses two Authorization headers itself" 400 - \
  -H "Authorization: Bearer $alice" -H "Authorization: Bearer $bob" "$N/api/hello"
http "unknown_token" 401 unknown_token -u "alice:not-a-token-of-this-store" "$N/api/hello"
http "user_mismatch" 401 user_mismatch -u "mallory:$alice" "$N/api/hello"
http "user_required (Bearer, token without user)" 401 user_required \
  -H "Authorization: Bearer $shared" "$N/api/hello"
http "expired" 401 expired -u "olga:olga-secret-00000000000000000001" "$N/api/hello"
http "ip_not_allowed (client 127.0.0.1)" 403 ip_not_allowed \
  -u "dana:dana-secret-00000000000000000001" "$N/api/hello"
http "allowed: realip takes 10.1.2.3 from a trusted proxy" 200 - \
  -u "dana:dana-secret-00000000000000000001" -H 'X-Forwarded-For: 10.1.2.3' "$N/api/hello"
http "ip_not_allowed: X-Forwarded-For from an untrusted peer is ignored" 403 ip_not_allowed \
  --interface 127.0.0.2 -u "dana:dana-secret-00000000000000000001" \
  -H 'X-Forwarded-For: 10.1.2.3' "$N/api/hello"
http "limit_to_mismatch (DELETE not in [get,head,post])" 403 limit_to_mismatch \
  -u "alice:$alice" -X DELETE "$N/api/items/1"
http "limit_to_mismatch (path)" 403 limit_to_mismatch -u "alice:$alice" "$N/other"
http "usage_exhausted: use 1 of 2" 200 - -u "erin:erin-secret-00000000000000000001" "$N/a"
http "usage_exhausted: use 2 of 2" 200 - -u "erin:erin-secret-00000000000000000001" "$N/a"
http "usage_exhausted" 403 usage_exhausted -u "erin:erin-secret-00000000000000000001" "$N/a"

# ---------------------------------------------------------------------------
echo "# Traefik ForwardAuth and Envoy ext_authz conventions, directly"

traefik=(-H 'X-Forwarded-Method: PUT' -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-Uri: /api/issue/OPS-1?x=1')
http "Traefik: allowed on the absolute URL" 200 - -u "tom:tom-secret-000000000000000000001" \
  "${traefik[@]}" -H 'X-Forwarded-Host: jira.example.com' "$TG/check" &&
  expect_header "Traefik: X-Tokenguard-User" X-Tokenguard-User tom &&
  expect_header "Traefik: X-Tokenguard-Label" X-Tokenguard-Label "behind traefik"
http "Traefik: another host does not match" 403 limit_to_mismatch \
  -u "tom:tom-secret-000000000000000000001" "${traefik[@]}" -H 'X-Forwarded-Host: evil.example.com' "$TG/check"
http "Traefik: no X-Forwarded-Host is malformed" 403 malformed_request \
  -u "tom:tom-secret-000000000000000000001" "${traefik[@]}" "$TG/check"
http "Traefik: a host with a slash is malformed" 403 malformed_request \
  -u "tom:tom-secret-000000000000000000001" "${traefik[@]}" -H 'X-Forwarded-Host: jira.example.com/x' "$TG/check"
http "Envoy: own method and path without /check" 200 - -u "alice:$alice" "$TG/check/api/hello" &&
  expect_header "Envoy: X-Tokenguard-User" X-Tokenguard-User alice
http "Envoy: method of the request" 403 limit_to_mismatch -u "alice:$alice" -X DELETE "$TG/check/api/hello"
http "Envoy: JsonData clause on the body" 200 - -u "deployer:deployer-secret-00000000000000001" \
  -H 'Content-Type: application/json' --data '{"fields":{"project":{"key":"OPS"}}}' "$TG/check/api/issue"
http "Envoy: JsonData clause fails on another body" 403 limit_to_mismatch \
  -u "deployer:deployer-secret-00000000000000001" -H 'Content-Type: application/json' \
  --data '{"fields":{"project":{"key":"HR"}}}' "$TG/check/api/issue"
http "Envoy: chunked body" 200 - -u "deployer:deployer-secret-00000000000000001" \
  -H 'Transfer-Encoding: chunked' --data '{"fields":{"project":{"key":"OPS"}}}' "$TG/check/api/issue"
http "nginx style: X-Original-URI without X-Original-Method is malformed" 403 malformed_request \
  -u "alice:$alice" -H 'X-Original-URI: /api/hello' "$TG/check"
http "malformed_credentials (two Authorization headers)" 401 malformed_credentials \
  -H "Authorization: Bearer $alice" -H "Authorization: Bearer $bob" "$TG/check/api/hello"
# The engine's work budget runs out on this rule and path (an origin-form URL:
# the rule is anchored at the path, so it is sent the Envoy way).
http "rule_too_complex" 403 rule_too_complex -u "frank:frank-secret-0000000000000000001" \
  "$TG/check/$(head -c 8000 /dev/zero | tr '\0' a)!91"
http "HEAD /check" 200 - -I -u "alice:$alice" "$TG/check/api/hello"
http "scheme_not_enabled (Bearer, basic mode)" 401 scheme_not_enabled \
  -H "Authorization: Bearer $alice" -H 'X-Original-Method: GET' -H 'X-Original-URI: /api/x' "$RO/check"
http "a label with a line break" 200 - -u "odile:odile-secret-0000000000000000001" "$TG/check/x" &&
  expect_header "is percent-encoded in its header" X-Tokenguard-Label 'odd label: 100%25 "quoted"%0Asecond line'

# ---------------------------------------------------------------------------
echo "# the management API through nginx"

http "get as administrator" 200 - -u "admin:$admin" "$M/get" &&
  expect_body "administrators see every token" '"total":12'
http "create a token for carol" 200 - -u "admin:$admin" -H 'Content-Type: application/json' \
  --data '{"label":"created by the test","userName":"carol","limitTo":"[get].*/api/.*"}' "$M/set"
new_token=$(grep -o '"token":"[a-z0-9]\{32\}"' "$work/body" | head -n1 | cut -d'"' -f4)
new_id=$(grep -o '"id":"[^"]*"' "$work/body" | head -n1 | cut -d'"' -f4)
if [ -n "$new_token" ] && [ -n "$new_id" ]; then ok "the answer carries the new secret and id"; else
  fail "the answer carries the new secret and id" "$(head -c 300 "$work/body")"
fi
http "the new token works through nginx" 200 - -u "carol:$new_token" "$N/api/hello" &&
  expect_body "as carol" "user=carol label=created by the test"
http "the new token keeps its limitTo" 403 limit_to_mismatch -u "carol:$new_token" -X POST --data x "$N/api/hello"
http "a user sees only their own tokens" 200 - -u "bob:$bob" "$M/get" &&
  expect_body "bob sees one token" '"total":1'
http "a user cannot create a token for someone else" 403 - -u "bob:$bob" \
  -H 'Content-Type: application/json' --data '{"label":"x","userName":"carol"}' "$M/set"
http "a user cannot delete someone else's token" 403 - -u "bob:$bob" -X DELETE \
  -H 'Content-Type: application/json' --data "{\"id\":\"$new_id\"}" "$M/delete"
http "a token without a bound user is refused" 403 - -u "carol:$shared" "$M/get" &&
  expect_body "and told why" "not bound to a user"
http "the caller's limitTo must allow the call" 403 limit_to_mismatch -u "alice:$alice" "$M/get"
http "a caller without credentials" 401 missing_credentials "$M/get" &&
  expect_header "management 401 asks for Basic credentials" WWW-Authenticate 'Basic realm="tokenguard"'
http "delete the token" 200 - -u "admin:$admin" -X DELETE -H 'Content-Type: application/json' \
  --data "{\"id\":\"$new_id\"}" "$M/delete"
http "the deleted token is refused" 401 unknown_token -u "carol:$new_token" "$N/api/hello"
http "delete it again: 404" 404 - -u "admin:$admin" -X DELETE -H 'Content-Type: application/json' \
  --data "{\"id\":\"$new_id\"}" "$M/delete"
http "turn the audit on" 200 - -u "admin:$admin" -H 'Content-Type: application/json' \
  --data '{"addAuditRecord":true}' "$M/set"
http "an audited request" 403 limit_to_mismatch -u "alice:$alice" "$N/audited/path"
if wait_for "audit record written" 5 grep -q '"subjectUrl":"http://127.0.0.1/audited/path"' "$work/audit.jsonl"; then
  ok "audit record written (JSON Lines, --audit-log)"
  if grep '"subjectUrl":"http://127.0.0.1/audited/path"' "$work/audit.jsonl" | grep -q '"tokenId":"it-alice".*"reason":"limit_to_mismatch"'; then
    ok "audit record names the token and the reason"
  else
    fail "audit record names the token and the reason" "$(tail -n1 "$work/audit.jsonl")"
  fi
fi
http "read-only: the management API is off" 403 - -u "admin:$admin" "$RO/rest/extender/1.0/tokenTools/get"

# ---------------------------------------------------------------------------
echo "# HTTP: limits, keep-alive, metrics, health"

big_header=$(head -c 17000 /dev/zero | tr '\0' a)
http "a header section over 16 KiB: 431" 431 - -u "alice:$alice" -H "X-Big: $big_header" "$TG/check/api/hello"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' a >"$work/big-body"
http "a body over 1 MiB: 413" 413 - -u "alice:$alice" --data-binary "@$work/big-body" "$TG/check/api/hello"
head -c $((1024 * 1024)) /dev/zero | tr '\0' a >"$work/max-body"
http "a body of exactly 1 MiB is read" 200 - -u "alice:$alice" --data-binary "@$work/max-body" "$TG/check/api/hello"
connects=$("${CURL[@]}" -o /dev/null -o /dev/null -w '%{num_connects} ' -u "alice:$alice" \
  "$TG/check/api/a" "$TG/check/api/b")
if [ "$connects" = "1 0 " ]; then ok "keep-alive: two requests, one connection"; else
  fail "keep-alive: two requests, one connection" "connects: '$connects'"
fi
http "/healthz" 200 - "$TG/healthz" && expect_body "/healthz says ok" ok
http "/metrics" 200 - "$TG/metrics" &&
  expect_body "/metrics has the latency histogram" 'tokenguard_check_duration_seconds_bucket{le="+Inf"}' &&
  expect_body "/metrics has the store size" 'tokenguard_store_tokens 12'
http "POST /metrics: 405" 405 - -X POST "$TG/metrics"
http "an unknown path: 404" 404 - "$TG/nothing-here"
http "/checkout is not /check" 404 - "$TG/checkout"

for reason in allowed malformed_request missing_credentials malformed_credentials unknown_token \
  user_mismatch user_required expired ip_not_allowed limit_to_mismatch rule_too_complex usage_exhausted; do
  value=$(metric "$main_port" "tokenguard_decisions_total{source=\"check\",reason=\"$reason\"}")
  if [ -n "$value" ] && [ "$value" -gt 0 ]; then ok "metrics count $reason checks ($value)"; else
    fail "metrics count $reason checks" "value '$value'"
  fi
done
value=$(metric "$main_port" 'tokenguard_decisions_total{source="management",reason="limit_to_mismatch"}')
if [ "${value:-0}" -ge 1 ]; then ok "metrics count management callers"; else fail "metrics count management callers" "'$value'"; fi
value=$(metric "$ro_port" 'tokenguard_decisions_total{source="check",reason="scheme_not_enabled"}')
if [ "${value:-0}" -ge 1 ]; then ok "metrics count scheme_not_enabled"; else fail "metrics count scheme_not_enabled" "'$value'"; fi

# ---------------------------------------------------------------------------
echo "# SIGHUP reloads the store in --read-only mode"

newbie=newbie-secret-0000000000000000001
http "before the reload the token is unknown" 401 unknown_token -u "nina:$newbie" \
  -H 'X-Original-Method: GET' -H 'X-Original-URI: /api/x' "$RO/check"
sed "s|^  \"tokens\": \[|  \"tokens\": [\n    {\"label\": \"added later\", \"user\": \"nina\", \"token\": \"$newbie\", \"id\": \"it-newbie\"},|" \
  "$here/tokens.json" >"$work/ro.json.next"
mv "$work/ro.json.next" "$work/ro.json"
kill -HUP "$ro_pid"
newbie_allowed() {
  [ "$("${CURL[@]}" -o /dev/null -w '%{http_code}' -u "nina:$newbie" -H 'X-Original-Method: GET' \
    -H 'X-Original-URI: /api/x' "$RO/check")" = 200 ]
}
wait_for "SIGHUP: the new token is allowed" 5 newbie_allowed && ok "SIGHUP: the new token is allowed"
printf '{"tokens": [ this is not JSON' >"$work/ro.json"
kill -HUP "$ro_pid"
reload_failed() { grep -q 'reload failed' "$work/ro.log"; }
wait_for "SIGHUP: a bad file is refused and logged" 5 reload_failed &&
  ok "SIGHUP: a bad file is refused and logged"
http "SIGHUP: the previous store stays in service" 200 - -u "nina:$newbie" \
  -H 'X-Original-Method: GET' -H 'X-Original-URI: /api/x' "$RO/check"
[ "$(metric "$ro_port" 'tokenguard_reloads_total{result="ok"}')" = 1 ] &&
  [ "$(metric "$ro_port" 'tokenguard_reloads_total{result="error"}')" = 1 ] &&
  ok "metrics count reloads" || fail "metrics count reloads" "$(curl -s "$RO/metrics" | grep reloads_total)"

# ---------------------------------------------------------------------------
echo "# SIGTERM: stop accepting, finish the requests in flight, flush, exit 0"

D="http://127.0.0.1:$drain_port"
head -c $((48 * 1024)) /dev/zero | tr '\0' b >"$work/slow-body"
slow=()
for i in 1 2 3 4 5 6 7 8; do
  "${CURL[@]}" -o /dev/null -w '%{http_code}' --limit-rate 16k -u "drew:drew-secret-00000000000000000001" \
    -H 'Expect:' --data-binary "@$work/slow-body" "$D/check/api/upload" >"$work/slow.$i" 2>&1 &
  slow+=($!)
done
in_flight() { [ "$(metric "$drain_port" tokenguard_connections_open)" -ge 9 ] 2>/dev/null; }
wait_for "eight slow uploads are in flight" 10 in_flight
kill -TERM "$drain_pid"
draining() { grep -q 'received SIGTERM' "$work/drain.log"; }
wait_for "SIGTERM is logged" 5 draining
sleep 0.2
if "${CURL[@]}" -o /dev/null -u "drew:drew-secret-00000000000000000001" "$D/check/api/late" 2>/dev/null; then
  fail "no new connection is accepted while draining" "a request was answered"
else
  ok "no new connection is accepted while draining"
fi
lost=0
for i in 1 2 3 4 5 6 7 8; do
  wait "${slow[$i - 1]}"
  [ "$(cat "$work/slow.$i")" = 200 ] || { lost=$((lost + 1)); echo "  upload $i: $(cat "$work/slow.$i")"; }
done
if [ "$lost" = 0 ]; then ok "all eight requests in flight were answered 200"; else
  fail "all eight requests in flight were answered" "$lost lost"
fi
wait "$drain_pid"
status=$?
if [ "$status" = 0 ]; then ok "exit status 0 after SIGTERM"; else fail "exit status 0 after SIGTERM" "status $status"; fi
grep -q 'stopped' "$work/drain.log" && ok "stop is logged" || fail "stop is logged" "$(tail -n3 "$work/drain.log")"
counter=$(grep '"id":"it-drain"' "$work/drain.json" | grep -o '"counter":[0-9]*' | cut -d: -f2)
if [ "$counter" = 8 ]; then ok "counters flushed at shutdown (counter 8)"; else
  fail "counters flushed at shutdown" "counter '$counter' in the store file"
fi

# ---------------------------------------------------------------------------
echo "# SIGTERM with the gateway's idle keep-alive connections open"

for name in main ro; do
  pid_var=${name}_pid
  kill -TERM "${!pid_var}"
  exited() { ! kill -0 "$1" 2>/dev/null; }
  if poll 10 exited "${!pid_var}"; then
    wait "${!pid_var}"
    status=$?
    if [ "$status" = 0 ]; then ok "$name: exit status 0"; else fail "$name: exit status 0" "status $status"; fi
  else
    fail "$name: exits after SIGTERM" "still running after 10s"
  fi
done
if grep -lE 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' "$work"/*.log >/dev/null 2>&1; then
  fail "no sanitizer report" "$(grep -lE 'Sanitizer|runtime error:' "$work"/*.log)"
  [ "${VERBOSE:-0}" = 1 ] && cat "$work"/*.log
else
  ok "no sanitizer report in the servers' logs"
fi

# ---------------------------------------------------------------------------
echo "# no secret in any log"

leaks=0
for secret in "$alice" "$bob" "$admin" "$shared" "$newbie" "$new_token" tom-secret dana-secret; do
  [ -n "$secret" ] || continue
  if grep -rqF -- "$secret" "$work"/*.log "$work"/*.out "$work/audit.jsonl" "$work/nginx/logs" 2>/dev/null; then
    leaks=$((leaks + 1))
    echo "  found a secret in the logs: ${secret:0:6}..."
  fi
done
if [ "$leaks" = 0 ]; then ok "no secret in the logs or the audit log"; else fail "no secret in the logs" "$leaks found"; fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

#!/usr/bin/env bash
# The command-line contract (SPEC 11), run against a built binary:
#   tests/cli/run.sh path/to/tokenguard
# Prints each failure, then "N passed, M failed"; exits 1 when any failed, 2
# when it cannot run at all.

set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/tokenguard" >&2
  exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EXAMPLES=$ROOT/examples
DATA=$ROOT/tests/data
NOW=1625000000000

T=$(mktemp -d "${TMPDIR:-/tmp}/tokenguard-cli.XXXXXX") || exit 2
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
  failed=$((failed + 1))
  printf 'FAIL: %s\n' "$1"
  shift
  for detail in "$@"; do printf '  %s\n' "$detail"; done
}

# tg ARGS... [< input]: runs the binary; stdout in $T/out, stderr in $T/err, status in $rc.
tg() {
  "$BIN" "$@" >"$T/out" 2>"$T/err"
  rc=$?
}

expect_rc() {  # name expected
  if [ "$rc" -eq "$2" ]; then pass; else fail "$1: exit $rc, expected $2" "stderr: $(head -c 400 "$T/err")"; fi
}
expect_out() {  # name expected-text: stdout exactly (one trailing newline added to expected)
  local expected
  expected=$(printf '%s\n' "$2")
  if [ "$(cat "$T/out")" == "$expected" ] && [ "$(tail -c 1 "$T/out" | od -An -c | tr -d ' ')" == '\n' ]; then
    pass
  else
    fail "$1: unexpected output" "expected: $expected" "actual:   $(cat "$T/out")"
  fi
}
expect_stdout_empty() {
  if [ ! -s "$T/out" ]; then pass; else fail "$1: stdout not empty" "$(head -c 400 "$T/out")"; fi
}
expect_stderr_nonempty() {
  if [ -s "$T/err" ]; then pass; else fail "$1: no message on stderr"; fi
}
expect_grep() {  # name pattern file...: some line of the files matches the pattern
  local name=$1 pattern=$2
  shift 2
  if grep -q -e "$pattern" "$@"; then pass; else fail "$name" "$(cat "$@" | head -c 600)"; fi
}
expect_unusable() {  # name: exit 2, a message on stderr, nothing on stdout
  expect_rc "$1" 2
  expect_stderr_nonempty "$1"
  expect_stdout_empty "$1"
}

b64() { printf '%s' "$1" | base64 -w0; }
basic() { printf 'Basic %s' "$(b64 "$1:$2")"; }
req() {  # method url ip [authorization [xff]]: one request line
  local line
  line=$(printf '{"method":"%s","url":"%s","ip":"%s"' "$1" "$2" "$3")
  if [ $# -ge 4 ]; then line="$line,\"authorization\":\"$4\""; fi
  if [ $# -ge 5 ]; then line="$line,\"xff\":\"$5\""; fi
  printf '%s}\n' "$line"
}
allow() { printf '{"allow":true,"reason":"allowed","user":"%s","label":"%s"}' "$1" "$2"; }
deny() { printf '{"allow":false,"reason":"%s","user":"","label":"%s"}' "$1" "${2:-}"; }

ADMIN=$(basic admin ip9ul19f8jenb92tji8lo34qt7tb1meo)
KANBAN=https://jira.example.com/rest/api/2/issue/KANBAN-100/comment
SCRUM=https://jira.example.com/rest/api/2/issue/SCRUM-1/comment

# ---------------------------------------------------------------- the examples

tg check --store "$EXAMPLES/tokens.json" --requests "$EXAMPLES/requests.jsonl" --now $NOW
expect_rc "examples" 0
if diff -u "$DATA/requests.expected.jsonl" "$T/out" >"$T/diff"; then
  pass
else
  fail "examples: decisions differ from tests/data/requests.expected.jsonl" "$(cat "$T/diff")"
fi

tg check --store "$EXAMPLES/tokens.json" --now $NOW <"$EXAMPLES/requests.jsonl"
expect_rc "examples from standard input" 0
if cmp -s "$DATA/requests.expected.jsonl" "$T/out"; then pass; else fail "examples from standard input differ"; fi

tg check --store "$EXAMPLES/tokens.json" --now=$NOW --requests - <"$EXAMPLES/requests.jsonl"
expect_rc "examples with --requests -" 0
if cmp -s "$DATA/requests.expected.jsonl" "$T/out"; then pass; else fail "examples with --requests - differ"; fi

# ------------------------------------------------------- output format, order

req POST "$KANBAN" 192.0.2.7 "$ADMIN" >"$T/one"
tg check --store "$EXAMPLES/tokens.json" --now $NOW --requests "$T/one"
expect_out "allowed line, keys in order" "$(allow admin 'Token name')"

req GET "$KANBAN" 192.0.2.7 "$ADMIN" >"$T/one"
tg check --store "$EXAMPLES/tokens.json" --now $NOW --requests "$T/one"
expect_out "denied line with a known token: label, no user" "$(deny limit_to_mismatch 'Token name')"

req GET "$KANBAN" 192.0.2.7 >"$T/one"
tg check --store "$EXAMPLES/tokens.json" --now $NOW --requests "$T/one"
expect_out "denied line without a token: both empty" "$(deny missing_credentials)"

# Labels and users are JSON-escaped.
cat >"$T/escape.json" <<'EOF'
[{"label":"Q\"uote \\ caf\u00e9\ttab","user":"","token":"escape-secret-0000000001"}]
EOF
printf '{"method":"GET","url":"/x","ip":"192.0.2.7","authorization":"%s"}\n' \
  "$(basic 'O"Brien' escape-secret-0000000001)" >"$T/one"
tg check --store "$T/escape.json" --now $NOW --requests "$T/one"
expect_out "labels and users JSON-escaped" \
  '{"allow":true,"reason":"allowed","user":"O\"Brien","label":"Q\"uote \\ café\ttab"}'

# Same order as the input; blank lines (empty, spaces, tabs, CR) skipped; the
# last line may lack its newline; CRLF line ends.
{
  req GET "$SCRUM" 192.0.2.7 "$ADMIN"
  printf '\n   \n\t\n\r\n'
  req GET "$KANBAN" 192.0.2.7 "$ADMIN" | tr -d '\n'
  printf '\r\n\n'
  req GET "$SCRUM" 192.0.2.7 | tr -d '\n'
} >"$T/blank"
tg check --store "$EXAMPLES/tokens.json" --now $NOW --requests "$T/blank"
expect_rc "blank lines" 0
expect_out "blank lines skipped, order kept, CRLF and a last line without newline" \
  "$(allow admin 'Token name')
$(deny limit_to_mismatch 'Token name')
$(deny missing_credentials)"

: >"$T/empty"
tg check --store "$EXAMPLES/tokens.json" --requests "$T/empty"
expect_rc "no requests at all" 0
expect_stdout_empty "no requests at all"

# ------------------------------------------------------------------ bad input

{
  echo 'this is not json'
  echo '{"method":"GET","url":"/x","ip":"192.0.2.7"'
  echo '[1,2]'
  echo '"a string"'
  echo '{"url":"/x","ip":"192.0.2.7"}'
  echo '{"method":"GET","ip":"192.0.2.7"}'
  echo '{"method":"GET","url":"/x"}'
  echo '{"method":5,"url":"/x","ip":"192.0.2.7"}'
  echo '{"method":"GET","url":null,"ip":"192.0.2.7"}'
  echo '{"method":"GET","url":"/x","ip":7}'
  echo '{"method":"GET","url":"/x","ip":"192.0.2.7","authorization":5}'
  echo '{"method":"GET","url":"/x","ip":"192.0.2.7","xff":["10.0.0.1"]}'
  echo '{"method":"GET","url":"/x","ip":"192.0.2.7","body":{"a":1}}'
  echo '{"method":"GET","url":"/x","ip":"999.1.1.1"}'
  echo '{"method":"GET","url":"/x","ip":"not-an-address"}'
  echo '{"method":"GET","url":"/x","ip":""}'
  echo '{"method":"GET","url":"/x","ip":"10.0.0.0/8"}'
  req POST "$KANBAN" 192.0.2.7 "$ADMIN"
} >"$T/bad"
tg check --store "$EXAMPLES/tokens.json" --now $NOW --requests "$T/bad"
expect_rc "bad input does not stop the run" 0
lines=$(wc -l <"$T/out")
if [ "$lines" -eq 18 ]; then pass; else fail "bad input: $lines output lines, expected 18" "$(cat "$T/out")"; fi
n=0
while IFS= read -r line; do
  n=$((n + 1))
  if [ $n -le 17 ]; then
    if [[ "$line" =~ ^\{\"allow\":false,\"reason\":\"bad_input\",\"error\":\"[^\"].*\"\}$ ]]; then
      pass
    else
      fail "bad input line $n: not a bad_input answer" "$line"
    fi
  elif [ "$line" == "$(allow admin 'Token name')" ]; then
    pass
  else
    fail "bad input: the run did not go on after the bad lines" "$line"
  fi
done <"$T/out"
sed -n 14p "$T/out" >"$T/line"
expect_grep "bad ip: the error names the field" '"error":.*ip' "$T/line"
sed -n 5p "$T/out" >"$T/line"
expect_grep "missing method: the error names the field" '"error":.*method' "$T/line"

# Optional fields may be null: absent.
printf '{"method":"GET","url":"/x","ip":"192.0.2.7","authorization":null,"xff":null,"body":null}\n' >"$T/one"
tg check --store "$EXAMPLES/tokens.json" --now $NOW --requests "$T/one"
expect_out "optional fields null" "$(deny missing_credentials)"

# ------------------------------------------------- counters, clock, store file

cat >"$T/limited.json" <<'EOF'
{"tokens":[{"label":"Twice","user":"u","token":"twice-secret-000000001","id":"twice",
  "usageLimit":2,"counter":0,"validUntil":1625000001000}]}
EOF
cp "$T/limited.json" "$T/limited.orig"
chmod a-w "$T/limited.json"
TWICE=$(basic u twice-secret-000000001)
for _ in 1 2 3; do req GET /x 192.0.2.7 "$TWICE"; done >"$T/three"
tg check --store "$T/limited.json" --now $NOW --requests "$T/three"
expect_rc "read-only store" 0
expect_out "usage counters carry from line to line" "$(allow u Twice)
$(allow u Twice)
$(deny usage_exhausted Twice)"
if cmp -s "$T/limited.json" "$T/limited.orig"; then pass; else fail "check wrote the store file"; fi
# A new run starts again from the file: nothing was written back.
chmod u+w "$T/limited.json"
before=$(stat -c '%Y %s %i' "$T/limited.json")
tg check --store "$T/limited.json" --now $NOW --requests "$T/three"
expect_out "a second run starts from the file's counter" "$(allow u Twice)
$(allow u Twice)
$(deny usage_exhausted Twice)"
if [ "$(stat -c '%Y %s %i' "$T/limited.json")" == "$before" ] && cmp -s "$T/limited.json" "$T/limited.orig"; then
  pass
else
  fail "check touched the store file"
fi

req GET /x 192.0.2.7 "$TWICE" >"$T/one"
tg check --store "$T/limited.json" --now 1625000000999 --requests "$T/one"
expect_out "--now: one millisecond before validUntil" "$(allow u Twice)"
tg check --store "$T/limited.json" --now 1625000001000 --requests "$T/one"
expect_out "--now: at validUntil" "$(deny expired Twice)"
# Without --now, the system clock (long after 2021-06-29).
tg check --store "$T/limited.json" --requests "$T/one"
expect_out "system clock by default" "$(deny expired Twice)"

# ------------------------------------------------ auth mode, trusted proxies

req GET https://jira.example.com/rest/api/2/project 10.1.2.3 "Bearer ci7readonly2x9kq4m8v1n6b3z5t0wyp" >"$T/one"
tg check --store "$EXAMPLES/tokens.json" --now $NOW --requests "$T/one"
expect_out "Bearer in the default (basic) mode" "$(deny scheme_not_enabled)"
tg check --store "$EXAMPLES/tokens.json" --now $NOW --auth-mode bearer --requests "$T/one"
expect_out "--auth-mode bearer" "$(allow ci-bot 'CI read-only')"
tg check --store "$EXAMPLES/tokens.json" --now $NOW --auth-mode both --requests "$T/one"
expect_out "--auth-mode both" "$(allow ci-bot 'CI read-only')"
req GET https://jira.example.com/rest/api/2/project 10.1.2.3 "$(basic ci-bot ci7readonly2x9kq4m8v1n6b3z5t0wyp)" >"$T/one"
tg check --store "$EXAMPLES/tokens.json" --now $NOW --auth-mode bearer --requests "$T/one"
expect_out "Basic in bearer mode" "$(deny scheme_not_enabled)"

CI=$(basic ci-bot ci7readonly2x9kq4m8v1n6b3z5t0wyp)
req GET /rest/api/2/project 172.16.0.9 "$CI" "10.1.2.3" >"$T/one"
tg check --store "$EXAMPLES/tokens.json" --now $NOW --requests "$T/one"
expect_out "X-Forwarded-For ignored without trusted proxies" "$(deny ip_not_allowed 'CI read-only')"
tg check --store "$EXAMPLES/tokens.json" --now $NOW --trusted-proxy 172.16.0.0/12 --requests "$T/one"
expect_out "--trusted-proxy" "$(allow ci-bot 'CI read-only')"
req GET /rest/api/2/project 172.16.0.9 "$CI" "10.1.2.3, 203.0.113.9, 172.16.0.1" >"$T/one"
tg check --store "$EXAMPLES/tokens.json" --now $NOW --trusted-proxy 172.16.0.0/12 \
  --trusted-proxy 192.0.2.0/24 --requests "$T/one"
expect_out "X-Forwarded-For read right to left" "$(deny ip_not_allowed 'CI read-only')"

# ------------------------------------------ unusable store or arguments: exit 2

printf '{"tokens": [\n  {"label": "a",}\n]}\n' >"$T/invalid.json"
printf '{"tokens": {"label": "a"}}\n' >"$T/shape.json"
req GET /x 192.0.2.7 >"$T/one"

tg check --requests "$T/one"
expect_unusable "check without --store"
tg check --store "$T/no-such-file.json" --requests "$T/one"
expect_unusable "check with a missing store file"
expect_grep "missing store: the message names the file and why" "no-such-file.json': No such file or directory" "$T/err"
tg check --store "$T/invalid.json" --requests "$T/one"
expect_unusable "check with a store that is not JSON"
expect_grep "invalid store: the message names the line" 'line 2' "$T/err"
tg check --store "$T/shape.json" --requests "$T/one"
expect_unusable "check with a store of the wrong shape"
expect_grep "wrong shape: the message names the path" '\$\.tokens' "$T/err"
tg check --store "$T" --requests "$T/one"
expect_unusable "check with a directory as the store"
expect_grep "directory as the store: the message says why" 'Is a directory' "$T/err"
tg check --store "$EXAMPLES/tokens.json" --requests "$T/no-such-requests.jsonl"
expect_unusable "check with a missing requests file"
tg check --store "$EXAMPLES/tokens.json" --now soon --requests "$T/one"
expect_unusable "check --now not a number"
tg check --store "$EXAMPLES/tokens.json" --now 12x --requests "$T/one"
expect_unusable "check --now with trailing junk"
tg check --store "$EXAMPLES/tokens.json" --requests "$T/one" --now
expect_unusable "check --now without a value"
tg check --store "$EXAMPLES/tokens.json" --auth-mode digest --requests "$T/one"
expect_unusable "check --auth-mode digest"
tg check --store "$EXAMPLES/tokens.json" --trusted-proxy 10.0.0.300/8 --requests "$T/one"
expect_unusable "check --trusted-proxy invalid"
tg check --store "$EXAMPLES/tokens.json" --bogus --requests "$T/one"
expect_unusable "check with an unknown option"
tg check --store "$EXAMPLES/tokens.json" extra --requests "$T/one"
expect_unusable "check with a stray argument"
tg frobnicate
expect_unusable "unknown command"
tg
expect_rc "no command" 2

# A store with a broken token still serves the others; --strict refuses it.
cat >"$T/broken.json" <<'EOF'
[{"label":"Good","user":"u","token":"good-secret-00000000001"},
 {"label":"Bad rule","user":"u","token":"bad-secret-000000000001","limitTo":"[get]\n/x("}]
EOF
{
  req GET /x 192.0.2.7 "$(basic u good-secret-00000000001)"
  req GET /x 192.0.2.7 "$(basic u bad-secret-000000000001)"
} >"$T/two"
tg check --store "$T/broken.json" --now $NOW --requests "$T/two"
expect_rc "store with a broken token" 0
expect_out "a broken token fails closed, the others load" "$(allow u Good)
$(deny unknown_token)"
expect_grep "broken token: a warning naming it on stderr" 'Bad rule' "$T/err"
tg check --store "$T/broken.json" --strict --now $NOW --requests "$T/two"
expect_unusable "check --strict with a broken token"

# ---------------------------------------------------------------- validate

tg validate --store "$EXAMPLES/tokens.json"
expect_rc "validate the examples" 0
expect_stdout_empty "validate the examples"

cat >"$T/problems.json" <<'EOF'
{"tokens":[
 {"label":"Fine","user":"u","token":"fine-secret-000000000001"},
 {"label":"Bad regex","user":"u","token":"regex-secret-00000000001","limitTo":"/ok<br>/x["},
 {"label":"Bad ip","user":"u","token":"ip-secret-0000000000001","ip":"10.0.0.300"},
 {"label":"Twin one","user":"u","token":"twin-secret-00000000001"},
 {"label":"Twin two","user":"u","token":"twin-secret-00000000001"},
 {"label":"Bad time","user":"u","token":"time-secret-00000000001","validUntil":"tomorrow"},
 {"label":"No secret","user":"u"}
]}
EOF
cp "$T/problems.json" "$T/problems.orig"
tg validate --store "$T/problems.json"
expect_rc "validate a store with problems" 1
lines=$(wc -l <"$T/out")
if [ "$lines" -eq 6 ]; then pass; else fail "validate: $lines problem lines, expected 6" "$(cat "$T/out")"; fi
for label in "Bad regex" "Bad ip" "Twin one" "Twin two" "Bad time" "No secret"; do
  expect_grep "validate: a problem line with the label $label" "\"$label\"" "$T/out"
done
expect_grep "validate: the bad regex problem names its line" '"Bad regex".*line 2' "$T/out"
if grep -q '"Fine"' "$T/out"; then fail "validate: a problem line for a good token" "$(cat "$T/out")"; else pass; fi
if cmp -s "$T/problems.json" "$T/problems.orig"; then pass; else fail "validate wrote the store file"; fi

tg validate --store "$T/invalid.json"
expect_rc "validate a file that is not JSON" 1
expect_grep "validate: invalid JSON with its line" 'line 2' "$T/out" "$T/err"
tg validate --store "$T/no-such-file.json"
expect_unusable "validate a missing file"
tg validate
expect_unusable "validate without --store"
tg validate --store "$EXAMPLES/tokens.json" --bogus
expect_unusable "validate with an unknown option"

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]

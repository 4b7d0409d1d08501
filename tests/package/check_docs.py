#!/usr/bin/env python3
"""Checks that what docs/*.md show is what the code does.

    check_docs.py TOKENGUARD_BINARY SOURCE_DIR DOC.md...

Three kinds of checked content, each announced by an HTML comment that the
rendered page does not show:

``<!-- check: file PATH -->``
    The next fenced code block is the file PATH (relative to SOURCE_DIR)
    without its leading comment lines (``//`` or ``#``).

``<!-- check: decisions {json} -->``
    The next table lists requests and the reason `tokenguard check` gives.
    The JSON (optional) holds defaults: "token" (fields of the one token of
    the store), "request" (method, url, ip, xff, authorization, body) and
    "args" (extra `check` arguments). Columns, by header: limitTo, ip, user
    (the token's), method, URL, peer, X-Forwarded-For, Authorization, body
    (the request's), validUntil, counter, usageLimit (the token's, numbers),
    trusted proxy, mode (`--trusted-proxy`, `--auth-mode`), and result (the
    expected reason). A cell's value is its first `code` span, else its text;
    "-" leaves the default, "(none)" removes the field, "(empty)" is "".
    In a cell, `\\|` is `|` (Markdown). The clock is 1700000000000 ms.

``<!-- check: canonical -->``
    The next table has columns URL and subject URL: a GET of the URL gives
    that subject URL (a token whose limitTo is exactly it is allowed), or,
    when the subject URL cell is `malformed_request`, is refused as such.

``<!-- check: errors {json} -->``
    The next table has columns limitTo (and/or ip) and error: `tokenguard
    validate` must report the token with a message that contains the error
    cell's first code span.

Besides, every ```console block is run: lines starting with "$ " are
commands (run by bash in SOURCE_DIR, `tokenguard` on the PATH, stderr merged
into stdout), the lines up to the next command are their exact output.
Prints one line per failed check and a summary; exits 1 on any failure.
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile

SECRET = "docs-example-secret-0001"


def code_spans(cell):
    return re.findall(r"`([^`]*)`", cell)


def cell_value(cell):
    """The text of a cell: its first code span, else its plain text."""
    cell = cell.replace("\\|", "|")
    spans = code_spans(cell)
    return spans[0] if spans else cell.strip()


def split_row(line):
    # Split at | that are not escaped as \|.
    parts = re.split(r"(?<!\\)\|", line.strip())
    return [p.strip() for p in parts[1:-1]]


def read_table(lines, start):
    """The table that starts at or after lines[start]: (header, rows, next index)."""
    i = start
    while i < len(lines) and not lines[i].lstrip().startswith("|"):
        i += 1
    header = [h.strip("` ").lower() for h in split_row(lines[i])]
    i += 2  # the |---| line
    rows = []
    while i < len(lines) and lines[i].lstrip().startswith("|"):
        rows.append((i + 1, split_row(lines[i])))
        i += 1
    return header, rows, i


def read_block(lines, start):
    """The fenced block that starts at or after lines[start]: (text, next index)."""
    i = start
    while not lines[i].startswith("```"):
        i += 1
    j = i + 1
    while not lines[j].startswith("```"):
        j += 1
    return "".join(lines[i + 1 : j]), j + 1


def basic(user, secret):
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


class Checker:
    def __init__(self, binary, source_dir):
        self.binary = binary
        self.source_dir = source_dir
        self.failures = []
        self.checks = 0
        self.tmp = tempfile.mkdtemp(prefix="tokenguard-docs.")

    def fail(self, where, message):
        self.failures.append(f"{where}: {message}")

    def run(self, args, stdin=None):
        return subprocess.run([self.binary] + args, input=stdin, capture_output=True, text=True)

    def write_store(self, tokens):
        path = os.path.join(self.tmp, "store.json")
        with open(path, "w") as f:
            json.dump(tokens, f)
        return path

    def decisions(self, where, options, header, rows):
        token_defaults = {"label": "docs", "user": "admin", "token": SECRET}
        token_defaults.update(options.get("token", {}))
        request_defaults = {
            "method": "GET",
            "url": "https://jira.example.com/rest/api/2/issue/DOC-1",
            "ip": "192.0.2.7",
        }
        request_defaults.update(options.get("request", {}))
        token_columns = {"limitto": "limitTo", "ip": "ip", "user": "user",
                         "validuntil": "validUntil", "counter": "counter",
                         "usagelimit": "usageLimit"}
        integer_fields = {"validUntil", "counter", "usageLimit"}
        request_columns = {"method": "method", "url": "url", "peer": "ip",
                           "x-forwarded-for": "xff", "authorization": "authorization",
                           "body": "body"}
        for line_number, cells in rows:
            token = dict(token_defaults)
            request = dict(request_defaults)
            args = list(options.get("args", []))
            expected = None
            for name, cell in zip(header, cells):
                if cell == "-" or cell == "":
                    continue
                value = cell_value(cell)
                if value == "(none)":
                    value = None
                elif value == "(empty)":
                    value = ""
                if name in token_columns:
                    field = token_columns[name]
                    token[field] = int(value) if field in integer_fields else value
                elif name in request_columns:
                    request[request_columns[name]] = value
                elif name == "trusted proxy":
                    for proxy in code_spans(cell):
                        args += ["--trusted-proxy", proxy]
                elif name == "mode":
                    args += ["--auth-mode", value]
                elif name == "result":
                    expected = value
            if "authorization" not in request:
                request["authorization"] = basic(token["user"] or "someone", token["token"])
            request = {k: v for k, v in request.items() if v is not None}
            store = self.write_store([token])
            self.checks += 1
            out = self.run(["check", "--store", store, "--now", "1700000000000"] + args,
                           json.dumps(request) + "\n")
            try:
                got = json.loads(out.stdout.splitlines()[0])["reason"]
            except (IndexError, ValueError, KeyError):
                got = f"no decision (exit {out.returncode}: {out.stderr.strip()})"
            if got != expected:
                self.fail(f"{where}:{line_number}", f"expected {expected}, got {got} "
                          f"(token {json.dumps(token)}, request {json.dumps(request)})")

    def canonical(self, where, header, rows):
        for line_number, cells in rows:
            values = dict(zip(header, (cell_value(c) for c in cells)))
            url, subject = values["url"], values["subject url"]
            malformed = subject == "malformed_request"
            token = {"label": "docs", "user": "admin", "token": SECRET,
                     "limitTo": "" if malformed else "\\Q" + subject + "\\E"}
            request = {"method": "GET", "url": url, "ip": "192.0.2.7",
                       "authorization": basic("admin", SECRET)}
            self.checks += 1
            out = self.run(["check", "--store", self.write_store([token])],
                           json.dumps(request) + "\n")
            want = "malformed_request" if malformed else "allowed"
            got = out.stdout.strip()
            if f'"reason":"{want}"' not in got:
                self.fail(f"{where}:{line_number}", f"{url} -> expected {subject}, got {got}")

    def errors(self, where, options, header, rows):
        for line_number, cells in rows:
            token = {"label": "docs", "user": "admin", "token": SECRET}
            token.update(options.get("token", {}))
            expected = None
            for name, cell in zip(header, cells):
                if name == "limitto":
                    token["limitTo"] = cell_value(cell)
                elif name == "ip":
                    token["ip"] = cell_value(cell)
                elif name == "error":
                    expected = cell_value(cell)
            self.checks += 1
            out = self.run(["validate", "--store", self.write_store([token])])
            if out.returncode != 1 or expected not in out.stdout:
                self.fail(f"{where}:{line_number}", f"expected an error containing {expected!r}, "
                          f"got exit {out.returncode}: {out.stdout.strip()!r}")

    def file_block(self, where, path, text):
        with open(os.path.join(self.source_dir, path)) as f:
            lines = f.readlines()
        while lines and lines[0].startswith(("//", "#")) and not lines[0].startswith("#include"):
            lines.pop(0)
        self.checks += 1
        if "".join(lines) != text:
            self.fail(where, f"the code block is not {path} (without its leading comment)")

    def console(self, where, text):
        env = dict(os.environ)
        env["PATH"] = os.path.dirname(os.path.abspath(self.binary)) + os.pathsep + env["PATH"]
        commands = []
        for line in text.splitlines():
            if line.startswith("$ "):
                commands.append([line[2:], []])
            elif commands:
                commands[-1][1].append(line)
        for command, expected in commands:
            self.checks += 1
            out = subprocess.run(["bash", "-c", command], cwd=self.source_dir, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            got = [l.rstrip() for l in out.stdout.rstrip("\n").split("\n")] if out.stdout else []
            want = [l.rstrip() for l in expected]
            while want and want[-1] == "":
                want.pop()
            if got != want:
                self.fail(where, f"$ {command}\n--- documented\n" + "\n".join(want) +
                          "\n--- actual\n" + "\n".join(got))

    def document(self, path):
        with open(path) as f:
            lines = f.readlines()
        name = os.path.relpath(path, self.source_dir)
        i = 0
        while i < len(lines):
            line = lines[i]
            marker = re.match(r"\s*<!-- check: (\w+)\s*(.*?)\s*-->", line)
            if marker:
                kind, rest = marker.groups()
                where = f"{name}:{i + 1}"
                if kind == "file":
                    text, i = read_block(lines, i + 1)
                    self.file_block(where, rest, text)
                    continue
                options = json.loads(rest) if rest else {}
                header, rows, i = read_table(lines, i + 1)
                if kind == "decisions":
                    self.decisions(name, options, header, rows)
                elif kind == "canonical":
                    self.canonical(name, header, rows)
                elif kind == "errors":
                    self.errors(name, options, header, rows)
                else:
                    self.fail(where, f"unknown check '{kind}'")
                continue
            if line.startswith("```console"):
                text, next_i = read_block(lines, i)
                self.console(f"{name}:{i + 1}", text)
                i = next_i
                continue
            i += 1


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    checker = Checker(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]))
    for doc in sys.argv[3:]:
        checker.document(os.path.abspath(doc))
    for failure in checker.failures:
        print("FAIL " + failure)
    print(f"{'ok' if not checker.failures else 'failed'}: {checker.checks - len(checker.failures)} "
          f"of {checker.checks} documented examples hold in {len(sys.argv) - 3} pages")
    return 1 if checker.failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Turns tokenguard_bench's Google Benchmark JSON into Markdown tables.

Medians of the repetitions (or the single run when a benchmark ran once):
the decision next to each baseline with ratios, loading, memory, the targets
of issue 5 with met / not met, and any other benchmark of the binary.

    python3 bench/report.py results.json [--commit C] [--machine M] [--command X]
"""

import argparse
import json
import sys

ENGINES = [
    ("tokenguard", "tokenguard"),
    ("boost", "Boost.Regex, one per line"),
    ("re2_set", "RE2::Set"),
    ("hyperscan", "Hyperscan"),
    ("std_regex", "std::regex, one per line"),
]
BASELINES = [e for e in ENGINES if e[0] != "tokenguard"]


def clean(name):
    """Drops what Google Benchmark appends (iterations:1, repeats:3, manual_time)."""
    return "/".join(p for p in name.split("/")
                    if not p.startswith(("iterations:", "repeats:", "min_time:"))
                    and p not in ("manual_time", "real_time"))


def medians(document):
    """run_name -> the benchmark entry to report (median aggregate, else the run)."""
    chosen = {}
    for b in document.get("benchmarks", []):
        name = clean(b.get("run_name", b["name"]))
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                chosen[name] = b
        elif name not in chosen or chosen[name].get("run_type") != "aggregate":
            chosen.setdefault(name, b)
    return chosen


def fmt_ns(v):
    if v is None:
        return "-"
    if v >= 10000:
        return f"{v / 1000:,.1f} us"
    return f"{v:,.0f} ns"


def fmt_ratio(baseline, ours):
    if baseline is None or ours is None or ours <= 0:
        return ""
    return f" ({baseline / ours:.2f}x)"


def parse_decide(name):
    """decide/tokens:1e3/lines:4/sets:1/allow/plain/tokenguard -> (case, engine)."""
    parts = name.split("/")
    if len(parts) != 7 or parts[0] != "decide":
        return None
    fields = dict(p.split(":", 1) for p in parts[1:4])
    case = (fields["tokens"], int(fields["lines"]), int(fields["sets"]), parts[4], parts[5])
    return case, parts[6]


def case_order(case):
    tokens, lines, sets, outcome, mode = case
    return (tokens, lines, sets, mode, outcome != "allow")


def decision_table(rows, out):
    out.append("| tokens | lines | sets | request | mode | " +
               " | ".join(label for _, label in ENGINES) + " | allocs/decision |")
    out.append("|---|---:|---:|---|---|" + "---:|" * len(ENGINES) + "---:|")
    for case in sorted(rows, key=case_order):
        engines = rows[case]
        ours = engines.get("tokenguard", {}).get("ns")
        cells = [fmt_ns(ours)]
        for key, _ in BASELINES:
            theirs = engines.get(key, {}).get("ns")
            cells.append(fmt_ns(theirs) + fmt_ratio(theirs, ours) if theirs is not None else "-")
        allocs = engines.get("tokenguard", {}).get("allocs")
        tokens, lines, sets, outcome, mode = case
        alloc_cell = f"{allocs:g}" if allocs is not None else "-"
        out.append(f"| {tokens} | {lines} | {sets} | {outcome} | {mode} | " + " | ".join(cells) +
                   f" | {alloc_cell} |")
    out.append("")
    out.append("Times are medians of the CPU time per decision of the deciding thread; "
               "(Nx) = the baseline's time / tokenguard's, so above 1 means tokenguard is faster. "
               "allocs/decision is tokenguard's.")


def verdict(ok):
    return "**met**" if ok else "**not met**"


def targets(rows, singles, out):
    def ns(case, engine):
        return rows.get(case, {}).get(engine, {}).get("ns")

    out.append("| target | measured | verdict |")
    out.append("|---|---|---|")

    # 1. 1e3 tokens, 4 lines: no slower than RE2::Set and Hyperscan, >= 20x std::regex.
    cases = [c for c in rows if c[0] == "1e3" and c[1] == 4]
    for key, label, need in (("re2_set", "RE2::Set", 1.0), ("hyperscan", "Hyperscan", 1.0),
                             ("std_regex", "std::regex one per line", 20.0)):
        ratios = [(ns(c, key) / ns(c, "tokenguard"), c) for c in cases
                  if ns(c, key) and ns(c, "tokenguard")]
        if not ratios:
            continue
        worst, c = min(ratios)
        want = "no slower than" if need == 1.0 else "at least 20x faster than"
        out.append(f"| 1e3 tokens, 4 lines: {want} {label} (allow and deny) | "
                   f"worst {worst:.2f}x ({c[3]}, {c[2]} sets, {c[4]}) | {verdict(worst >= need)} |")

    # 2. 32 lines at most 1.5x the 4-line time.
    growth = []
    for c in rows:
        if c[1] == 32:
            four = (c[0], 4, c[2], c[3], c[4])
            if ns(c, "tokenguard") and ns(four, "tokenguard"):
                growth.append((ns(c, "tokenguard") / ns(four, "tokenguard"), c))
    if growth:
        worst, c = max(growth)
        out.append(f"| 32 lines: at most 1.5x the 4-line time | worst {worst:.2f}x "
                   f"({c[0]} tokens, {c[2]} sets, {c[3]}, {c[4]}) | {verdict(worst <= 1.5)} |")

    # 3. 1e6 tokens, 1000 rule sets: at most 1 us.
    big = [(ns(c, "tokenguard"), c) for c in rows
           if c[0] == "1e6" and c[2] == 1000 and ns(c, "tokenguard")]
    if big:
        four = [v for v in big if v[1][1] == 4]
        worst4, c4 = max(four) if four else (None, None)
        worst, c = max(big)
        text = f"4 lines: worst {fmt_ns(worst4)} ({c4[3]}, {c4[4]}); " if four else ""
        text += f"all line counts: worst {fmt_ns(worst)} ({c[1]} lines, {c[3]}, {c[4]})"
        out.append(f"| 1e6 tokens, 1000 rule sets: at most 1 us per decision | {text} | "
                   f"{verdict(worst <= 1000)} |")

    # 4. Loading and memory.
    loads = [(b.get("tokens/s"), name) for name, b in singles.items()
             if name.startswith("load/") and b.get("tokens/s")]
    if loads:
        slowest, name = min(loads)
        out.append(f"| Loading: at least 1 M tokens/s including rule compilation | "
                   f"slowest {slowest / 1e6:.2f} M tokens/s ({name.split('/')[-1]}) | "
                   f"{verdict(slowest >= 1e6)} |")
    for name, b in singles.items():
        if name.startswith("memory/") and b.get("rss_bytes/token") is not None:
            rss = b["rss_bytes/token"]
            out.append(f"| At most 512 bytes per token resident beyond the shared rules | "
                       f"{rss:.0f} B/token RSS ({b.get('heap_bytes/token', 0):.0f} B/token of it "
                       f"through operator new)"
                       f" | {verdict(rss <= 512)} |")

    # 5. Zero allocations.
    allocs = [(v["allocs"], c) for c, e in rows.items() for k, v in e.items()
              if k == "tokenguard" and v.get("allocs") is not None]
    if allocs:
        most, c = max(allocs)
        out.append(f"| Zero heap allocations per decision | max {most:g} over "
                   f"{len(allocs)} cases | {verdict(most == 0)} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="Google Benchmark JSON output")
    parser.add_argument("--commit", default="")
    parser.add_argument("--machine", default="")
    parser.add_argument("--command", default="")
    args = parser.parse_args()
    with open(args.results, encoding="utf-8") as f:
        document = json.load(f)
    chosen = medians(document)

    rows = {}
    singles = {}
    for name, b in chosen.items():
        parsed = parse_decide(name)
        if parsed is None:
            singles[name] = b
            continue
        case, engine = parsed
        rows.setdefault(case, {})[engine] = {
            "ns": b.get("ns/decision"),
            "allocs": b.get("allocs/decision"),
        }

    ctx = document.get("context", {})
    out = []
    if args.commit:
        out.append(f"- Library measured: {args.commit}")
    if args.machine:
        out.append(f"- Machine: {args.machine}")
    reps = max((b.get("repetitions", 1) for b in document.get("benchmarks", [])), default=1)
    out.append(f"- Run: {ctx.get('date', '?')}, {ctx.get('num_cpus', '?')} CPUs seen by the "
               f"benchmark, {reps} repetitions per benchmark (medians)")
    if args.command:
        out.append(f"- Command: `{args.command}`")
    out.append("")

    if rows:
        out.append("### The decision, next to each baseline")
        out.append("")
        decision_table(rows, out)
        out.append("")

    loads = {n: b for n, b in singles.items() if n.startswith(("load/", "load_records/"))}
    if loads:
        out.append("### Loading 1e6 tokens from a store file (1000 distinct 4-line rule sets)")
        out.append("")
        out.append("| path | mode | tokens/s | CPU time, all threads | read | parse and compile | "
                   "of which parse_store_json | store::compile | peak memory | file |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name in sorted(loads):
            b = loads[name]
            path = "gateway: load_store_json" if name.startswith("load/") else \
                "records: parse_store_json, store::compile"
            split = (f"{b['parse_ms']:.0f} ms | {b['compile_ms']:.0f} ms"
                     if "parse_ms" in b else "| ")
            out.append(f"| {path} | {name.split('/')[-1]} | {b['tokens/s'] / 1e6:.2f} M | "
                       f"{b.get('cpu_ms', 0):.0f} ms | "
                       f"{b['read_ms']:.0f} ms | {b['load_ms']:.0f} ms | {split} | "
                       f"{b.get('peak_MB', 0):.0f} MB | {b['file_MB']:.0f} MB |")
        out.append("")
        out.append("Tokens/s and phases in wall-clock time (a store this large loads on two "
                   "threads); each run reads the file, parses it "
                   "and compiles a fresh snapshot with a fresh usage table. Peak memory: the "
                   "resident set's high-water mark during the load, above what the process held "
                   "before it. The target counts the gateway's path.")
        out.append("")
    memory = {n: b for n, b in singles.items() if n.startswith("memory/")}
    if memory:
        out.append("### Memory")
        out.append("")
        out.append("| store | RSS per token | of it through operator new | store entry | "
                   "one rule set (4 lines): heap | compile time |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for name, b in sorted(memory.items()):
            out.append(f"| {name.split('/', 1)[1]} | {b['rss_bytes/token']:.0f} B | "
                       f"{b['heap_bytes/token']:.0f} B | {b['entry_bytes']:.0f} B | "
                       f"{b['rules_heap_bytes/set'] / 1024:.1f} KiB | "
                       f"{b['rule_compile_us/set']:.1f} us |")
        out.append("")
    others = {n: b for n, b in singles.items() if n not in loads and n not in memory}
    if others:
        out.append("### Other benchmarks (piece/: the steps of a decision on their own)")
        out.append("")
        out.append("| benchmark | CPU time | counters |")
        out.append("|---|---:|---|")
        skip = {"name", "run_name", "run_type", "repetitions", "repetition_index", "threads",
                "iterations", "real_time", "cpu_time", "time_unit", "family_index",
                "per_family_instance_index", "aggregate_name", "aggregate_unit"}
        for name in sorted(others):
            b = others[name]
            counters = ", ".join(f"{k}={v:.4g}" for k, v in b.items()
                                 if k not in skip and isinstance(v, (int, float)))
            out.append(f"| {name} | {b['cpu_time']:.1f} {b.get('time_unit', 'ns')} | {counters} |")
        out.append("")
    verdicts = []
    targets(rows, singles, verdicts)
    if len(verdicts) > 2:  # more than the table's header
        out.append("### Issue 5 targets")
        out.append("")
        out.extend(verdicts)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

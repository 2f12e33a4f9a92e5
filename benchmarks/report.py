"""Turn a pytest-benchmark JSON file into the tlcodec vs Telethon comparison table (Markdown).

Run the suite, then the report, from the repository root (.ci/run does this, adding
`-q -p no:cacheprovider`; the short mode takes well under 2 minutes on 2 cores):

    python -m pytest benchmarks --benchmark-only --benchmark-min-rounds=5 \
        --benchmark-max-time=0.2 --benchmark-json=benchmark-results/bench.json
    python benchmarks/report.py benchmark-results/bench.json

`--update-readme README.md` also writes the table into README.md between the lines
`<!-- benchmark-table:start -->` and `<!-- benchmark-table:end -->` (without them: print only).

Every figure is the median over pytest-benchmark's rounds (each round is many calls, the time is
per call); the minimum is shown beside it because this VM is noisy. The ratio is Telethon's
median over tlcodec's (how many times faster tlcodec is), the ratio of the minimums beside it.
Targets are judged on the medians, except "one copy" for the 1 MiB rows, judged on minimums (the
reference copy is timed separately, and a memory-bound copy's minimum is its stable figure; both
factors are printed). The cold-import row is the median of `import <module>` timed inside fresh
interpreters (see test_bench_import.py), not the subprocess wall time. Standard library only:
it does not import tlcodec or Telethon.

The client rows (test_bench_client.py; test_bench_proxy.py through a SOCKS5 proxy) are round
trips against the test DCs in their own process:
"rate" rows show round trips per second of the median round (best round beside it), "latency"
rows the p50/p99 of every call, "extra" rows one figure the benchmark recorded in `extra_info`,
the "ceiling" row the server's CPU per call and the rate that allows on one core, and the
"paired" row the median of the per-pair ratios of interleaved rounds of both clients.
A "memory" row shows bytes that a benchmark measured with tracemalloc and recorded in
`extra_info` (test_bench_layer.py: per decoded `message`); its target "≥ 1x Telethon" means no
more memory than Telethon's.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

START = "<!-- benchmark-table:start -->"
END = "<!-- benchmark-table:end -->"
COPY_TEST = "test_copy_1mib"
HARNESS_TEST = "test_harness_overhead"


@dataclass(frozen=True)
class Row:
    label: str
    test: str
    max_seconds: float | None = None  # tlcodec's median must be at most this
    min_ratio: float | None = None  # Telethon / tlcodec must be at least this
    max_copies: float | None = None  # tlcodec's median at most this many 1 MiB copies
    strict: bool = False  # max_seconds is a strict bound (<)
    kind: str = "time"  # "time", "memory", or for the client rows: "rate", "latency", "extra",
    # "ceiling", "paired" (see the module doc)
    extra_key: str | None = None  # the extra_info figure of an "extra" (seconds) or "memory"
    # (bytes) row


ROWS = [
    Row("build + encode `ImportLoginToken(token=32 B)`",
        "test_build_encode_import_login_token", max_seconds=150e-9, min_ratio=6),
    Row("encode a prebuilt `ImportLoginToken` (`tlcodec.encode(obj)` / `bytes(obj)`)",
        "test_encode_import_login_token", max_seconds=100e-9, min_ratio=5),
    Row("decode `auth.loginToken` (32 B token)",
        "test_decode_login_token", max_seconds=150e-9, min_ratio=10),
    Row("decode `auth.loginTokenSuccess`, realistic user (photo, status, username, phone)",
        "test_decode_login_token_success", max_seconds=1.5e-6, min_ratio=10),
    Row("encode, 1 MiB token", "test_encode_1mib_token", max_copies=1.1, min_ratio=1.8),
    Row("decode, 1 MiB token", "test_decode_1mib_token", max_copies=1.1, min_ratio=1.1),
    Row("`bytes(memoryview(buf))`, 1 MiB (baseline: one copy)", COPY_TEST),
    Row("full layer: decode `messages.messages`, 100 messages with entities and media, 20 users, "
        "5 chats (39 KB)", "test_decode_history", min_ratio=10),
    Row("the same with the cyclic GC paused (context: the collector's share of the row above)",
        "test_decode_history_gc_paused"),
    Row("the cyclic GC's time per decode of that `messages.messages`, amortized over 1 s of "
        "decodes (in the first row's figures, mostly not in its medians)",
        "test_decode_history", kind="extra", extra_key="gc_seconds_per_decode"),
    Row("full layer: memory one decoded `message` keeps (tracemalloc; ratio Telethon/tlcodec)",
        "test_decode_history", kind="memory", extra_key="traced_bytes_per_message", min_ratio=1),
    Row("full layer: decode an `updates` batch, 40 updates, 8 users, 5 chats (11 KB)",
        "test_decode_updates", min_ratio=10),
    Row("the same with the cyclic GC paused (context)", "test_decode_updates_gc_paused"),
    Row("the cyclic GC's time per decode of that `updates`, amortized over 1 s of decodes",
        "test_decode_updates", kind="extra", extra_key="gc_seconds_per_decode"),
    Row("full layer: encode a prebuilt `messages.sendMessage` with 7 entities",
        "test_encode_send_message", min_ratio=8),
    Row("full layer: build + encode `messages.sendMessage` with 7 entities",
        "test_build_encode_send_message"),
    Row("`import tlcodec` cold (Telethon column: `import telethon`)",
        "test_cold_import", max_seconds=30e-3),
    Row("full layer: first use of one class, after the import (`types.messages.Messages`)",
        "test_first_class_use", max_seconds=1e-3),
    Row("full layer: every class made (Telethon column: importing its `alltlobjects` module)",
        "test_whole_layer", max_seconds=150e-3),
    Row("`Schema.from_tl(api.tl, mtproto.tl)`, full official schema (Telethon: no runtime loader)",
        "test_schema_from_tl_full", max_seconds=300e-3, strict=True),
    Row("mtproto: pack + encrypt one `importLoginToken` message (intermediate framing)",
        "test_pack_encrypt_import_login_token", max_seconds=5e-6, min_ratio=2.5),
    Row("mtproto: decrypt + unpack + decode an `rpc_result` carrying `loginTokenSuccess`",
        "test_receive_rpc_result_login_token_success", max_seconds=8e-6, min_ratio=3),
    Row("mtproto: full auth-key exchange, client + server in memory (Telethon column: "
        "Telethon's client against our server)", "test_auth_key_exchange", max_seconds=50e-3),
    Row("2FA: SRP check, `account.password` -> `inputCheckPasswordSRP` (PBKDF2 100,000 "
        "rounds + three 2048-bit modexps)", "test_srp_check"),
    Row("transport: intermediate pack (120 B)", "test_intermediate_pack"),
    Row("transport: intermediate read one frame (120 B)", "test_intermediate_read"),
    Row("transport: full pack (120 B)", "test_full_pack"),
    Row("transport: full read one frame, CRC checked (120 B)", "test_full_read"),
    Row("transport: obfuscated intermediate pack (120 B)", "test_obfuscated_pack"),
    Row("loop step around `id(x)`, included in both columns of the batched rows", HARNESS_TEST),
    Row("client: `importLoginToken` round trips, one connection, sequential",
        "test_client_import_login_token_sequential", kind="rate"),
    Row("client: latency, sequential", "test_client_import_login_token_sequential",
        kind="latency"),
    Row("client: `importLoginToken` round trips, one connection, 200 in flight",
        "test_client_import_login_token_pipelined", kind="rate"),
    Row("client: latency, 200 in flight", "test_client_import_login_token_pipelined",
        kind="latency"),
    Row("client: 200 in flight, rounds of both clients interleaved (ratio: median of the pairs)",
        "test_client_import_login_token_pipelined_interleaved", kind="paired", min_ratio=3),
    Row("client: CPU per round trip in the client's process, 200 in flight",
        "test_client_import_login_token_pipelined", kind="extra",
        extra_key="client_cpu_seconds_per_request"),
    Row("test DC (own process): CPU per round trip, 200 in flight -> its ceiling on one core",
        "test_client_import_login_token_pipelined", kind="ceiling"),
    Row("test DC (own process): CPU per `ping`, answered by its session layer -> its ceiling",
        "test_client_ping_pipelined", kind="ceiling"),
    Row("client through a SOCKS5 proxy (pproxy): `importLoginToken` round trips, sequential",
        "test_socks5_import_login_token_sequential", kind="rate"),
    Row("client through a SOCKS5 proxy: latency, sequential",
        "test_socks5_import_login_token_sequential", kind="latency"),
    Row("client through a SOCKS5 proxy (pproxy): `importLoginToken` round trips, 200 in flight",
        "test_socks5_import_login_token_pipelined", kind="rate"),
    Row("client through a SOCKS5 proxy: latency, 200 in flight",
        "test_socks5_import_login_token_pipelined", kind="latency"),
    Row("asyncio alone: 200 workers awaiting a future set by `call_soon` (in every client row)",
        "test_client_harness_floor", kind="rate"),
]


def fmt_time(seconds: float | None, extra_digit: bool = False) -> str:
    """3 significant digits (4 with `extra_digit`, for a figure compared with its target)."""
    if seconds is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            value = seconds / scale
            digits = (0 if value >= 100 else 1 if value >= 10 else 2) + extra_digit
            return f"{value:.{digits}f} {unit}"
    raise AssertionError("unreachable")


def fmt_limit(seconds: float) -> str:
    """A target as written in the issue: `150 ns`, `1.5 µs`, `30 ms`."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale * 0.999 or unit == "ns":
            return f"{round(seconds / scale, 6):g} {unit}"
    raise AssertionError("unreachable")


def fmt_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.1f}x" if ratio >= 10 else f"{ratio:.2f}x"


@dataclass(frozen=True)
class Measure:
    median: float
    minimum: float
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def cell(self) -> str:
        return f"{fmt_time(self.median)} (min {fmt_time(self.minimum)})"


def load(path: Path) -> tuple[dict[tuple[str, str], Measure], dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    found: dict[tuple[str, str], Measure] = {}
    for bench in data.get("benchmarks", []):
        test = bench["name"].split("[", 1)[0]
        param = bench.get("param") or ""
        extra = bench.get("extra_info") or {}
        if "import_seconds_median" in extra:
            median, minimum = extra["import_seconds_median"], extra["import_seconds_min"]
            found[test, param] = Measure(median, minimum, extra)
        else:
            stats = bench["stats"]
            per_op = extra.get("ops_per_call", 1)  # batched rows time several operations per call
            found[test, param] = Measure(stats["median"] / per_op, stats["min"] / per_op, extra)
    return found, data.get("machine_info", {})


def ours_of(found: dict[tuple[str, str], Measure], test: str) -> Measure | None:
    for key in ("tlcodec", "baseline", "bytes(memoryview)"):
        if (test, key) in found:
            return found[test, key]
    return None


def verdict(
    row: Row, ours: Measure | None, ratio: float | None, found: dict, harness: Measure | None
) -> str:
    """'yes' or 'no: what missed', judged on medians, with the figures that explain it."""
    if ours is None:
        return "not measured"
    if row.max_seconds is None and row.min_ratio is None and row.max_copies is None:
        return "—"
    misses: list[str] = []
    facts: list[str] = []
    if row.max_seconds is not None:
        ok = ours.median < row.max_seconds if row.strict else ours.median <= row.max_seconds
        if not ok:
            misses.append(f"{fmt_time(ours.median, True)} > {fmt_limit(row.max_seconds)}")
            # The batch loop's own step is best estimated by its minimum (it does no work).
            if harness is not None and row.max_seconds < 1e-5 and ours.median > harness.minimum:
                net = ours.median - harness.minimum
                facts.append(f"≈ {fmt_time(net)} net of the loop step")
    if row.max_copies is not None:
        copy = ours_of(found, COPY_TEST)
        if copy is None:
            misses.append("no copy baseline")
        else:
            # Judged on minimums: the copy and the codec run at different moments, and on a noisy
            # VM the minimum of a memory-bound operation is its stable figure. Both are shown.
            by_min, by_median = ours.minimum / copy.minimum, ours.median / copy.median
            text = f"{by_min:.2f}x one copy by min, {by_median:.2f}x by median"
            (misses if by_min > row.max_copies else facts).append(text)
    if row.min_ratio is not None:
        if ratio is None:
            misses.append("no Telethon figure")
        elif ratio < row.min_ratio:
            misses.append(f"{math.floor(ratio * 1000) / 1000:.3f}x < {row.min_ratio:g}x")
    tail = f" ({'; '.join(facts)})" if facts else ""
    return ("no: " + "; ".join(misses) if misses else "yes") + tail


def target_text(row: Row) -> str:
    parts = []
    if row.max_seconds is not None:
        parts.append(("< " if row.strict else "≤ ") + fmt_limit(row.max_seconds))
    if row.max_copies is not None:
        parts.append(f"≤ {row.max_copies}x one copy")
    if row.min_ratio is not None:
        parts.append(f"≥ {row.min_ratio:g}x Telethon")
    return ", ".join(parts) or "—"


def fmt_rate(per_second: float | None) -> str:
    return "—" if per_second is None else f"{per_second:,.0f}/s"


def client_cells(row: Row, ours: Measure | None, theirs: Measure | None
                 ) -> tuple[str, str, float | None, str]:
    """(ours, Telethon's, ratio, ratio cell) of a client row; the ratio says how many times
    better ours is (Telethon's time over ours, or our rate over Telethon's)."""
    def extra(measure: Measure | None, key: str) -> float | None:
        return None if measure is None else measure.extra.get(key)

    if row.kind == "rate":
        def cell(m: Measure | None) -> str:
            return "—" if m is None else f"{fmt_rate(1 / m.median)} (best {fmt_rate(1 / m.minimum)})"

        ratio = theirs.median / ours.median if ours and theirs else None
        return cell(ours), cell(theirs), ratio, fmt_ratio(ratio)
    if row.kind == "latency":
        def cell(m: Measure | None) -> str:
            if m is None or "latency_p50_seconds" not in m.extra:
                return "—"
            return (f"p50 {fmt_time(m.extra['latency_p50_seconds'])}, "
                    f"p99 {fmt_time(m.extra['latency_p99_seconds'])}")

        p50, p99 = (extra(ours, "latency_p50_seconds"), extra(ours, "latency_p99_seconds"))
        t50, t99 = (extra(theirs, "latency_p50_seconds"), extra(theirs, "latency_p99_seconds"))
        if not (p50 and p99 and t50 and t99):
            return cell(ours), cell(theirs), None, "—"
        return (cell(ours), cell(theirs), t50 / p50,
                f"p50 {fmt_ratio(t50 / p50)}, p99 {fmt_ratio(t99 / p99)}")
    if row.kind == "extra":
        assert row.extra_key is not None
        mine, other = extra(ours, row.extra_key), extra(theirs, row.extra_key)
        ratio = other / mine if mine and other else None
        return fmt_time(mine), fmt_time(other), ratio, fmt_ratio(ratio)
    if row.kind == "memory":
        assert row.extra_key is not None
        mine, other = extra(ours, row.extra_key), extra(theirs, row.extra_key)
        ratio = other / mine if mine and other else None

        def size(value: float | None) -> str:
            return "—" if value is None else f"{value:,.0f} B"

        return size(mine), size(other), ratio, fmt_ratio(ratio)
    if row.kind == "ceiling":
        def cell(m: Measure | None) -> str:
            cpu = extra(m, "server_cpu_seconds_per_request")
            if not cpu:
                return "—"
            busy = extra(m, "server_busy") or 0.0
            return f"{fmt_time(cpu)} -> {fmt_rate(1 / cpu)} ({busy:.0%} busy)"

        return cell(ours), cell(theirs), None, "—"
    if row.kind == "paired":
        mine = extra(ours, "tlcodec_requests_per_second_median")
        other = extra(ours, "telethon_requests_per_second_median")
        ratio = extra(ours, "throughput_ratio_median")
        ratios = extra(ours, "throughput_ratios") or []
        ratio_cell = fmt_ratio(ratio)
        if ratios:
            ratio_cell += f" ({fmt_ratio(min(ratios))} to {fmt_ratio(max(ratios))})"
        return fmt_rate(mine), fmt_rate(other), ratio, ratio_cell
    raise ValueError(f"unknown row kind {row.kind!r}")


def table(found: dict[tuple[str, str], Measure], machine: dict[str, Any]) -> str:
    harness = ours_of(found, HARNESS_TEST)
    lines = [
        "| operation | tlcodec | Telethon | ratio (Telethon/tlcodec) | target | met |",
        "| --- | --: | --: | --: | --- | --- |",
    ]
    for row in ROWS:
        ours = ours_of(found, row.test)
        theirs = found.get((row.test, "telethon"))
        if row.kind != "time":
            if ours is None:
                continue  # the client benchmarks did not run (e.g. one file alone)
            ours_cell, theirs_cell, ratio, ratio_cell = client_cells(row, ours, theirs)
            lines.append(
                f"| {row.label} | {ours_cell} | {theirs_cell} | {ratio_cell} | "
                f"{target_text(row)} | {verdict(row, ours, ratio, found, harness)} |"
            )
            continue
        ratio = theirs.median / ours.median if ours and theirs else None
        ratio_cell = fmt_ratio(ratio)
        if ours and theirs:
            ratio_cell += f" (min {fmt_ratio(theirs.minimum / ours.minimum)})"
        lines.append(
            f"| {row.label} | {ours.cell() if ours else 'not measured'} | "
            f"{theirs.cell() if theirs else '—'} | {ratio_cell} | {target_text(row)} | "
            f"{verdict(row, ours, ratio, found, harness)} |"
        )
    compiled = machine.get("tlcodec_compiled")
    codec = {True: "compiled (Cython)", False: "pure-Python twin"}.get(compiled, "unknown codec")
    cpu = machine.get("cpu", {})
    where = f"{cpu.get('brand_raw', machine.get('machine', '?'))}, {cpu.get('count', '?')} cores"
    lines += [
        "",
        "Medians per call (min in parentheses), pytest-benchmark; ratio of the medians (of the "
        f"minimums). tlcodec {machine.get('tlcodec_version', '?')} {codec} vs Telethon "
        f"{machine.get('telethon_version', '?')}, Python {machine.get('python_version', '?')}, "
        f"{where}. Sub-microsecond rows are timed in batches of 100 and divided; each includes one "
        "batch-loop step (the last row) in both columns alike. Cold import: `import X` timed inside fresh interpreters (median "
        "of several runs). 'met' judges the medians, except the one-copy "
        "factor of the 1 MiB rows, which compares minimums (the copy is timed separately). "
        "Client rows: round trips of `auth.importLoginToken` against the test DCs running in "
        "a separate process, ours and Telethon's client on the same server and transport "
        "(see benchmarks/test_bench_client.py); /s = round trips per second. Full-layer rows: "
        "realistic payloads built alike by both libraries (tests/realistic_payloads.py, see "
        "benchmarks/test_bench_layer.py); the GC runs during the timed decodes, as in an "
        "application, except in the rows that say it is paused.",
    ]
    return "\n".join(lines)


def update_readme(readme: Path, text: str) -> bool:
    if not readme.exists():
        print(f"{readme} does not exist: table printed only", file=sys.stderr)
        return False
    content = readme.read_text(encoding="utf-8")
    start, end = content.find(START), content.find(END)
    if start < 0 or end < start:
        print(f"{readme} has no {START} ... {END} markers: table printed only", file=sys.stderr)
        return False
    new = content[: start + len(START)] + "\n" + text + "\n" + content[end:]
    readme.write_text(new, encoding="utf-8")
    return True


def fallback_table(compiled: dict[tuple[str, str], Measure],
                   plain: dict[tuple[str, str], Measure]) -> str:
    """What the pure-Python fallback costs: tlcodec's own time per row in a compiled run and in a
    TLCODEC_NO_EXTENSIONS=1 run (two JSON files), for the time rows both files have."""
    lines = ["| operation | compiled | pure Python | pure Python / compiled |",
             "| --- | --: | --: | --: |"]
    for row in ROWS:
        if row.kind != "time":
            continue
        fast, slow = ours_of(compiled, row.test), ours_of(plain, row.test)
        if fast is None or slow is None:
            continue
        lines.append(f"| {row.label} | {fmt_time(fast.median)} | {fmt_time(slow.median)} | "
                     f"{fmt_ratio(slow.median / fast.median)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("json", type=Path, help="the file written by --benchmark-json")
    parser.add_argument(
        "--update-readme", type=Path, metavar="README", help="also write the table there"
    )
    parser.add_argument(
        "--plain", type=Path, metavar="JSON",
        help="a TLCODEC_NO_EXTENSIONS=1 run of the same benchmarks: print what the fallback costs",
    )
    args = parser.parse_args(argv)
    found, machine = load(args.json)
    if not found:
        print(f"{args.json} holds no benchmarks (a run with --benchmark-disable?)", file=sys.stderr)
        return 1
    if args.plain is not None:
        print(fallback_table(found, load(args.plain)[0]))
        return 0
    text = table(found, machine)
    print(text)
    if args.update_readme is not None and update_readme(args.update_readme, text):
        print(f"updated {args.update_readme}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

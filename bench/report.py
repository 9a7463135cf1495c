"""Summaries of repeated runs (median and spread), the printed table, and the JSON/SVG files."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from .chart import Bar, render_svg


def spread_pct(values: list[float]) -> float:
    """(max - min) / median, in percent: how much the repetitions disagree."""
    if not values:
        return 0.0
    middle = statistics.median(values)
    return 100.0 * (max(values) - min(values)) / middle if middle else 0.0


def summarise(runs: list[dict]) -> dict:
    """Median throughput and latency over the repetitions of one case, plus their spread."""
    rps = [run["requests_per_sec"] for run in runs]
    return {
        "rps_median": statistics.median(rps),
        "rps_min": min(rps),
        "rps_max": max(rps),
        "rps_spread_pct": spread_pct(rps),
        "p50_ms": statistics.median(run["p50_ms"] for run in runs),
        "p99_ms": statistics.median(run["p99_ms"] for run in runs),
        "non_2xx": sum(run["non_2xx"] for run in runs),
        "socket_errors": sum(run["socket_errors"] for run in runs),
        "pool_wrapped": sum(run["pool_wrapped"] for run in runs),
        "requests": sum(run["requests"] for run in runs),
    }


def ratios(runs: list[dict], floor_runs: list[dict]) -> dict:
    """Per-repetition ratios to the floor (repetition i of both ran back to back), then their median."""
    values = [run["requests_per_sec"] / floor["requests_per_sec"]
              for run, floor in zip(runs, floor_runs, strict=False) if floor["requests_per_sec"]]
    if not values:
        return {}
    return {"ratio": statistics.median(values), "ratio_min": min(values), "ratio_max": max(values)}


def verdict(row: dict) -> str:
    """'ok' when every target of the row holds, else what misses."""
    misses = []
    if row.get("target_ratio") is not None and row.get("ratio") is not None and row["ratio"] < row["target_ratio"]:
        misses.append(f"ratio<{row['target_ratio']}")
    queries = row.get("queries")
    if row.get("max_queries") is not None and queries is not None and queries > row["max_queries"]:
        misses.append(f"queries>{row['max_queries']}")
    if row.get("non_2xx"):
        misses.append("non-2xx")
    return "ok" if not misses else ", ".join(misses)


# Printed under the table and stored in the results beside the second column.
ASYNC_RISK = ("async = the same case with synchronous_commit = off. RISK: a crash of PostgreSQL or of the "
              "machine can lose the last commits (up to about 3 x wal_writer_delay, 0.6 s by default) after "
              "their answers were sent: a rotated refresh token or a used code could come back, a revocation "
              "be undone. Not a production setting for an authorization server; the headline is durable.")


def format_table(rows: list[dict]) -> str:
    """The headline table (durable commits), with the asynchronous second column where it was measured."""
    width = max([38, *(len(row["title"]) for row in rows)])
    with_async = any(row.get("async") for row in rows)
    header = (f"{'case':{width}} {'req/s':>8} {'spread':>7} {'p50 ms':>7} {'p99 ms':>7} {'non2xx':>6} "
              f"{'SQL':>5} {'floor':>8} {'ratio':>6} {'range':>11} {'target':>7}  verdict")
    if with_async:
        header += f"  {'async req/s':>11} {'async ratio':>11}"
    lines = ["durable commits (synchronous_commit = on)", header, "-" * len(header)]
    for row in rows:
        if row.get("skipped"):
            lines.append(f"{row['title']:{width}} skipped: {row['skipped']}")
            continue
        queries = "-" if row.get("queries") is None else str(row["queries"])
        if row.get("transaction_statements"):
            queries += f"+{row['transaction_statements']}"
        ratio = f"{row['ratio']:.2f}" if row.get("ratio") is not None else "-"
        spread = f"{row['ratio_min']:.2f}-{row['ratio_max']:.2f}" if row.get("ratio") is not None else ""
        target = f">={row['target_ratio']}" if row.get("target_ratio") is not None else ""
        line = (
            f"{row['title']:{width}} {row['rps_median']:8.0f} {row['rps_spread_pct']:6.1f}% {row['p50_ms']:7.2f} "
            f"{row['p99_ms']:7.2f} {row['non_2xx']:6d} {queries:>5} {row.get('floor') or '':>8} {ratio:>6} "
            f"{spread:>11} {target:>7}  {row.get('verdict', '')}"
        )
        extra = row.get("async")
        if with_async and extra:
            async_ratio = f"{extra['ratio']:.2f}" if extra.get("ratio") is not None else "-"
            line = f"{line:{len(header) - 25}}  {extra['rps_median']:11.0f} {async_ratio:>11}"
        lines.append(line.rstrip())
    if with_async:
        lines += ["", ASYNC_RISK]
    return "\n".join(lines)


def chart_bars(rows: list[dict]) -> list[Bar]:
    return [
        Bar(label=row["title"], ratio=row["ratio"], low=row.get("ratio_min"), high=row.get("ratio_max"),
            target=row.get("target_ratio"))
        for row in rows
        if not row.get("skipped") and row.get("ratio") is not None
    ]


def write_results(directory: Path, stamp: str, document: dict) -> tuple[Path, Path]:
    """Write ``bench-<stamp>.json`` and ``bench-<stamp>.svg`` (and ``latest.*`` copies)."""
    directory.mkdir(parents=True, exist_ok=True)
    json_text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    svg_text = render_svg(chart_bars(document["cases"]), f"oauth_provider benchmark {stamp}: req/s ÷ floor")
    json_path = directory / f"bench-{stamp}.json"
    svg_path = directory / f"bench-{stamp}.svg"
    for path, text in ((json_path, json_text), (svg_path, svg_text), (directory / "latest.json", json_text),
                       (directory / "latest.svg", svg_text)):
        path.write_text(text, encoding="utf-8")
    return json_path, svg_path

"""Run wrk for one case and parse what it prints (its own summary and our Lua ``done`` line)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).with_name("wrk_case.lua")
JSON_PREFIX = "BENCH_JSON "
_UNITS_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_PERCENTILE_LINE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+([\d.]+)(us|ms|s|m)\s*$")


@dataclass(frozen=True)
class WrkResult:
    """One timed run: throughput, latency percentiles (ms) and answers that were not 2xx."""

    requests: int
    seconds: float
    requests_per_sec: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    pool_wrapped: int
    statuses: dict[str, int]

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def parse_wrk_output(text: str) -> WrkResult:
    """Parse wrk's stdout: the ``BENCH_JSON`` line of our Lua script when present, else wrk's summary.

    The summary fallback reads ``Requests/sec``, the ``--latency`` distribution and the
    ``Non-2xx or 3xx responses`` line, so the parser also works for a run without the script.
    """
    summary = _parse_summary(text)
    data = None
    for line in text.splitlines():
        if line.startswith(JSON_PREFIX):
            data = json.loads(line[len(JSON_PREFIX):])
    if data is None:
        return WrkResult(
            requests=summary["requests"],
            seconds=summary["seconds"],
            requests_per_sec=summary["requests_per_sec"],
            p50_ms=summary["percentiles_ms"].get(50.0, 0.0),
            p99_ms=summary["percentiles_ms"].get(99.0, 0.0),
            non_2xx=summary["non_2xx_or_3xx"],
            socket_errors=summary["socket_errors"],
            pool_wrapped=0,
            statuses={},
        )
    seconds = data["duration_us"] / 1e6
    statuses = {str(k): int(v) for k, v in data["statuses"].items()}
    return WrkResult(
        requests=data["requests"],
        seconds=seconds,
        requests_per_sec=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["latency_us"]["p50"] / 1000,
        p99_ms=data["latency_us"]["p99"] / 1000,
        non_2xx=sum(n for status, n in statuses.items() if not status.startswith("2")),
        socket_errors=sum(data["socket_errors"].values()),
        pool_wrapped=data["pool_wrapped"],
        statuses=statuses,
    )


def _parse_summary(text: str) -> dict:
    result = {"requests": 0, "seconds": 0.0, "requests_per_sec": 0.0, "percentiles_ms": {},
              "non_2xx_or_3xx": 0, "socket_errors": 0}
    in_distribution = False
    for line in text.splitlines():
        if "Latency Distribution" in line:
            in_distribution = True
            continue
        match = _PERCENTILE_LINE.match(line)
        if in_distribution and match:
            result["percentiles_ms"][float(match[1])] = float(match[2]) * _UNITS_TO_MS[match[3]]
            continue
        in_distribution = False
        if line.startswith("Requests/sec:"):
            result["requests_per_sec"] = float(line.split(":", 1)[1])
        elif match := re.match(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),", line):
            result["requests"] = int(match[1])
            result["seconds"] = float(match[2]) * _UNITS_TO_MS[match[3]] / 1000
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            result["non_2xx_or_3xx"] = int(line.split(":", 1)[1])
        elif line.strip().startswith("Socket errors:"):
            result["socket_errors"] = sum(int(n) for n in re.findall(r"\d+", line))
    return result


def run_wrk(
    url: str,
    *,
    method: str,
    headers: dict[str, str],
    body_file: Path | None,
    duration: int,
    connections: int,
    threads: int,
    header_name: str | None = None,
    header_file: Path | None = None,
) -> WrkResult:
    """One bounded wrk run against ``url`` (wrk takes whole seconds)."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s", "--latency",
               "-s", str(LUA_SCRIPT)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    env = {**os.environ, "BENCH_METHOD": method, "BENCH_THREADS": str(threads),
           "BENCH_BODY_FILE": str(body_file) if body_file else "",
           "BENCH_HEADER_NAME": header_name or "", "BENCH_HEADER_FILE": str(header_file) if header_file else ""}
    completed = subprocess.run(  # noqa: S603 (fixed program, arguments built here)
        command, env=env, capture_output=True, text=True, timeout=duration + 30, check=True
    )
    return parse_wrk_output(completed.stdout)

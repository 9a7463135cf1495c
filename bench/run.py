"""``make bench``: serve the example project with gunicorn on PostgreSQL and drive every case with wrk.

Environment (all optional): BENCH_DURATION (s per timed run, 5), BENCH_REPEATS (3),
BENCH_CONNECTIONS (4), BENCH_THREADS (wrk threads, 1), BENCH_WORKERS (gunicorn workers, 2),
BENCH_WARMUP (s, 2), BENCH_CASES (comma-separated case names), BENCH_SCALE (1: also the
1,000,000-row part), BENCH_SCALE_ROWS, BENCH_MAX_POOL (largest single-use pool per run, 200000),
BENCH_DATABASE_URL (dropped and created again: postgres://postgres@127.0.0.1:5432/oauth_bench),
BENCH_PROTECTED_PATH (the demo API view of case 4), BENCH_ASYNC (1: the second column, see below).

Durable figures first: every case is measured with PostgreSQL's ``synchronous_commit = on`` (a token
is only answered once its commit is on disk), and those are the headline figures. Then, unless
BENCH_ASYNC=0, the cases that commit per request (``Case.writes``) are measured again, with floor A,
on new server processes with ``synchronous_commit = off``: that column shows what runs above the
commit (on a virtual machine's shared disk one WAL flush costs milliseconds). Its risk is printed
beside it (``report.ASYNC_RISK``): a crash can lose the last commits, so a rotated refresh token, a
used code or a revocation could come back.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .server import REPO, Server, free_port, probe

RESULTS = REPO / "bench" / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/oauth_bench"


@dataclass(frozen=True)
class Config:
    duration: int
    repeats: int
    connections: int
    threads: int
    workers: int
    warmup: int
    cases: list[str]
    scale: bool
    scale_rows: int
    max_pool: int
    database_url: str
    async_pass: bool

    @classmethod
    def from_env(cls) -> Config:
        env = os.environ.get
        return cls(
            duration=max(1, int(env("BENCH_DURATION", "5"))),
            repeats=max(1, int(env("BENCH_REPEATS", "3"))),
            connections=int(env("BENCH_CONNECTIONS", "4")),
            threads=int(env("BENCH_THREADS", "1")),
            workers=int(env("BENCH_WORKERS", "2")),
            warmup=max(1, int(env("BENCH_WARMUP", "2"))),
            cases=[name for name in env("BENCH_CASES", "").split(",") if name],
            scale=env("BENCH_SCALE", "0") not in ("", "0", "false", "no"),
            scale_rows=int(env("BENCH_SCALE_ROWS", "1000000")),
            max_pool=int(env("BENCH_MAX_POOL", "200000")),
            database_url=env("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
            async_pass=env("BENCH_ASYNC", "1") not in ("", "0", "false", "no"),
        )


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _bench_database(url: str) -> tuple[str, str]:
    """(name, URL of the maintenance database) of the benchmark database; refuses any other name."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("oauth_bench"):
        raise SystemExit(f"refusing to drop {name!r}: the benchmark database name must start with oauth_bench")
    return name, urlunsplit(parts._replace(path="/postgres"))


def recreate_database(url: str) -> None:
    """Drop and create the benchmark database (never the one tests or the demo use), with durable commits."""
    import psycopg

    name, admin_url = _bench_database(url)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    set_synchronous_commit(url, "on")


def set_synchronous_commit(url: str, value: str) -> None:
    """The database's ``synchronous_commit`` for sessions opened from now on (servers are restarted after)."""
    import psycopg

    if value not in ("on", "off"):
        raise ValueError(value)
    name, admin_url = _bench_database(url)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = {value}')


def _raise_on_signal(signum, frame):
    raise SystemExit(128 + signum)


class Bench:
    """Runs the cases interleaved (repetition i of every case, then i+1), so floors share the noise."""

    def __init__(self, config: Config, servers: dict[str, Server], world, workdir: Path) -> None:
        self.config = config
        self.servers = servers
        self.world = world
        self.workdir = workdir

    # --- preparation ------------------------------------------------------------------------------

    def prepare(self, cases):
        """Run each case's fixture and probe its URL; returns (ready, skipped) with reasons."""
        ready, skipped = [], {}
        for case in cases:
            try:
                prepared = case.prepare(self.world)
                body = prepared.bodies(1)[0] if (prepared.single_use or prepared.body) else None
                url = self.servers[case.signing_algorithm].url + case.path
                status = probe(url, case.method, prepared.headers_for(url), body)
            except Exception as exc:
                skipped[case.name] = f"fixture failed: {type(exc).__name__}: {exc}"
                continue
            if status == 404:
                skipped[case.name] = f"{case.method} {case.path} answers 404 (endpoint not routed on this branch)"
            else:
                if not 200 <= status < 300:
                    log(f"warning: {case.name} probe answered {status}")
                ready.append((case, prepared))
        return ready, skipped

    def count_queries(self, case, prepared) -> list[tuple[int, int]]:
        """SQL queries per request, counted in this process with Django's test client (not timed)."""
        from django.conf import settings
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext, override_settings

        content_type = prepared.headers.get("Content-Type", "application/octet-stream")
        bodies = prepared.bodies(4) if prepared.single_use else [prepared.body or ""] * 4
        client = Client()
        counts = []
        algorithm = {**settings.OAUTH_PROVIDER, "SIGNING_ALGORITHM": case.signing_algorithm}
        with override_settings(OAUTH_PROVIDER=algorithm):
            for index, body in enumerate(bodies):
                headers = {k: v for k, v in prepared.headers_for("http://testserver" + case.path).items()
                           if k.lower() != "content-type"}
                with CaptureQueriesContext(connection) as captured:
                    response = client.generic(case.method, case.path, body or "", content_type=content_type,
                                              headers=headers)
                if index:  # the first request warms the per-process caches, as in a running server
                    counts.append(split_queries(captured.captured_queries))
                if response.status_code >= 300:
                    log(f"warning: in-process {case.name} answered {response.status_code}")
        return counts

    # --- timed runs -------------------------------------------------------------------------------

    def _body_file(self, case, prepared, count: int) -> Path | None:
        if not prepared.single_use and prepared.body is None:
            return None
        bodies = prepared.bodies(count) if prepared.single_use else [prepared.body]
        path = self.workdir / f"{case.name}.bodies"
        path.write_text("\n".join(bodies) + "\n", encoding="utf-8")
        return path

    def _header_file(self, case, prepared, url: str, count: int) -> Path | None:
        if not prepared.single_use_header:
            return None
        path = self.workdir / f"{case.name}.headers"
        path.write_text("\n".join(prepared.mint_header(url, count)) + "\n", encoding="utf-8")
        return path

    def _wrk(self, case, prepared, duration: int, pool: int):
        from .wrk import run_wrk

        url = self.servers[case.signing_algorithm].url + case.path
        body_file = self._body_file(case, prepared, pool)
        return run_wrk(
            url,
            method=case.method,
            headers=prepared.headers,
            header_name=prepared.header_name,
            header_file=self._header_file(case, prepared, url, pool),
            body_file=body_file,
            duration=duration,
            connections=self.config.connections,
            threads=self.config.threads,
        )

    def measure(self, ready) -> dict[str, list[dict]]:
        config = self.config
        pools: dict[str, int] = {}
        for case, prepared in ready:
            single_use = prepared.single_use or prepared.single_use_header
            warm_pool = min(config.max_pool, 4000) if single_use else 1
            warm = self._wrk(case, prepared, config.warmup, warm_pool)
            if single_use:
                # Enough single-use bodies for one timed run at the warm-up rate, with 50% to spare.
                pools[case.name] = int(min(config.max_pool, max(500, warm.requests_per_sec * config.duration * 1.5)))
            log(f"warm-up {case.name}: {warm.requests_per_sec:.0f} req/s"
                + (f", pool {pools[case.name]}" if case.name in pools else ""))
        runs: dict[str, list[dict]] = {case.name: [] for case, _ in ready}
        for repetition in range(config.repeats):
            for case, prepared in ready:
                result = self._wrk(case, prepared, config.duration, pools.get(case.name, 1))
                runs[case.name].append(result.as_dict())
                log(f"run {repetition + 1}/{config.repeats} {case.name}: {result.requests_per_sec:.0f} req/s, "
                    f"p99 {result.p99_ms:.1f} ms, non-2xx {result.non_2xx}")
        return runs

    def async_columns(self, rows: list[dict], cases) -> dict:
        """Measure the writing cases again (with floor A) and add their ``async`` figures to ``rows``."""
        from .cases import FLOOR_A
        from .report import ratios, summarise

        wanted = [case for case in cases if case.writes or case.name == FLOOR_A]
        ready, skipped = self.prepare(wanted)
        runs = self.measure(ready)
        for row in rows:
            if row["name"] not in runs:
                continue
            figures = summarise(runs[row["name"]])
            extra = {"rps_median": figures["rps_median"], "rps_spread_pct": figures["rps_spread_pct"],
                     "p50_ms": figures["p50_ms"], "p99_ms": figures["p99_ms"], "non_2xx": figures["non_2xx"],
                     "runs": runs[row["name"]]}
            if row.get("floor") == FLOOR_A and FLOOR_A in runs:
                extra.update(ratios(runs[row["name"]], runs[FLOOR_A]))
            row["async"] = extra
        return skipped

    def rows(self, cases, ready, skipped, runs, *, suffix: str = "") -> list[dict]:
        from .report import ratios, summarise, verdict

        prepared_by_name = dict((case.name, prepared) for case, prepared in ready)
        rows = []
        for case in cases:
            row = {"name": case.name + suffix, "title": case.title + suffix, "method": case.method,
                   "path": case.path, "floor": case.floor, "signing_algorithm": case.signing_algorithm,
                   "target_ratio": case.target_ratio, "max_queries": case.max_queries}
            if case.name in skipped:
                row["skipped"] = skipped[case.name]
                rows.append(row)
                continue
            row.update(summarise(runs[case.name]))
            row["runs"] = runs[case.name]
            counts = self.count_queries(case, prepared_by_name[case.name])
            # Statements are what the budgets count; BEGIN/COMMIT are extra round trips, listed apart.
            row["queries"] = max(statements for statements, _ in counts) if counts else None
            row["transaction_statements"] = max(control for _, control in counts) if counts else None
            row["queries_per_request"] = [statements for statements, _ in counts]
            if case.floor and case.floor in runs:
                row.update(ratios(runs[case.name], runs[case.floor]))
            row["verdict"] = verdict(row)
            rows.append(row)
        return rows


TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def split_queries(captured: list[dict]) -> tuple[int, int]:
    """(SQL statements, transaction-control statements) among the queries Django captured."""
    control = sum(1 for query in captured if query["sql"].split(None, 1)[0].upper() in TRANSACTION_CONTROL)
    return len(captured) - control, control


def select_cases(config: Config):
    from .cases import CASES

    protected = os.environ.get("BENCH_PROTECTED_PATH")
    cases = [dataclasses.replace(c, path=protected) if protected and c.name == "protected_api" else c for c in CASES]
    if config.cases:
        wanted = set(config.cases)
        wanted |= {c.floor for c in cases if c.name in wanted and c.floor}
        cases = [c for c in cases if c.name in wanted]
    return cases


def machine() -> dict:
    import django
    from django.db import connection

    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), "")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": pg_version,
        "load_average_at_start": os.getloadavg(),
    }


def main() -> int:
    config = Config.from_env()
    signal.signal(signal.SIGTERM, _raise_on_signal)
    signal.signal(signal.SIGHUP, _raise_on_signal)
    log(f"recreating {urlsplit(config.database_url).path.lstrip('/')} (synchronous_commit = on)")
    recreate_database(config.database_url)
    ports = {"RS256": free_port(), "ES256": free_port()}
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": config.database_url,
        "OAUTH_ISSUER": f"http://127.0.0.1:{ports['RS256']}",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from . import fixtures

    world = fixtures.create_world()
    started = time.monotonic()
    servers: dict[str, Server] = {}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")

    def start_servers() -> None:
        for algorithm, port in ports.items():
            # Both servers publish one issuer, as two deployments of one server would.
            env = {"OAUTH_SIGNING_ALGORITHM": algorithm, "OAUTH_ISSUER": os.environ["OAUTH_ISSUER"]}
            servers[algorithm] = Server(port=port, workers=config.workers, env=env,
                                        log_path=RESULTS / f"gunicorn-{algorithm}.log")
            servers[algorithm].start()
        log(f"gunicorn ({config.workers} workers) on {', '.join(s.url for s in servers.values())}")

    try:
        start_servers()
        document = {"stamp": stamp, "machine": machine(), "config": dataclasses.asdict(config),
                    "synchronous_commit": "on"}
        with tempfile.TemporaryDirectory(prefix="oauth-bench-") as workdir:
            bench = Bench(config, servers, world, Path(workdir))
            cases = select_cases(config)
            ready, skipped = bench.prepare(cases)
            for name, reason in skipped.items():
                log(f"skip {name}: {reason}")
            runs = bench.measure(ready)
            document["cases"] = bench.rows(cases, ready, skipped, runs)
            document["machine"]["load_average_after_durable"] = os.getloadavg()
            if config.scale:
                from .scale import run_scale

                document["scale"] = run_scale(bench, cases, document["cases"])
            if config.async_pass and any(case.writes for case in cases):
                from .report import ASYNC_RISK

                log("second column: the writing cases again with synchronous_commit = off, on new servers")
                for server in servers.values():
                    server.stop()
                set_synchronous_commit(config.database_url, "off")
                start_servers()
                bench.async_columns(document["cases"], cases)
                document["async_risk"] = ASYNC_RISK
        document["seconds"] = round(time.monotonic() - started, 1)
        document["machine"]["load_average_at_end"] = os.getloadavg()
    finally:
        for server in servers.values():
            server.stop()
    from .report import format_table, write_results

    print()
    print(format_table(document["cases"]))
    if "scale" in document:
        from .scale import format_scale

        print()
        print(format_scale(document["scale"]))
    json_path, svg_path = write_results(RESULTS, stamp, document)
    print(f"\nmachine: {document['machine']}")
    print(f"results: {json_path.relative_to(REPO)}, {svg_path.relative_to(REPO)} ({document['seconds']} s)")
    return 0


def run_manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our manage.py)
        [sys.executable, str(REPO / "manage.py"), *args], env={**os.environ, **env}, capture_output=True,
        text=True, check=False, timeout=3600,
    )


if __name__ == "__main__":
    sys.exit(main())

"""The 1,000,000-row part (BENCH_SCALE=1): hot paths on full tables, and the clean-up command.

Rows are inserted by PostgreSQL itself (``INSERT ... SELECT ... FROM generate_series``), in
batches, so a million rows take seconds rather than the minutes an ORM loop would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from django.db import connection

from oauth_provider.models import AccessToken, RefreshToken

from .run import log
from .server import REPO

BATCH = 100_000
CLEANUP_APPLICATION_NAME = "oauth_bench_cleanup"


def _columns(model, **values) -> tuple[str, str]:
    """Column list and SELECT expressions for a raw insert, with columns named from the model."""
    names = [model._meta.get_field(field).column for field in values]
    return ", ".join(f'"{name}"' for name in names), ", ".join(values.values())


def insert_access_tokens(count: int, *, application_id: int, user_id: int, audience: str, expired: bool,
                         tag: str) -> None:
    expires = ("now() - interval '1 day' - g * interval '1 millisecond'" if expired
               else "now() + interval '1 hour' + mod(g, 600) * interval '1 second'")
    columns, select = _columns(
        AccessToken,
        jti=f"'{tag}-' || g",
        application="%(application)s",
        user="%(user)s",
        grant_type="'authorization_code'",
        scope="'read'",
        audience="%(audience)s",
        created_at="now() - interval '5 minutes'",
        expires_at=expires,
    )
    _insert_batches(AccessToken._meta.db_table, columns, select, count,
                    {"application": application_id, "user": user_id, "audience": audience})


def insert_refresh_tokens(count: int, *, application_id: int, user_id: int, expired: bool, tag: str) -> None:
    expires = ("now() - interval '1 day' - g * interval '1 millisecond'" if expired
               else "now() + interval '14 days' - mod(g, 600) * interval '1 second'")
    columns, select = _columns(
        RefreshToken,
        # 64 hex characters, unique per row: the shape of a SHA-256 digest (no plaintext exists for these).
        token_digest=f"md5('{tag}a' || g) || md5('{tag}b' || g)",
        application="%(application)s",
        user="%(user)s",
        scope="'read'",
        family_id=f"md5('{tag}f' || g)::uuid",
        created_at="now() - interval '1 hour'",
        expires_at=expires,
        family_expires_at="now() + interval '90 days'",
    )
    _insert_batches(RefreshToken._meta.db_table, columns, select, count,
                    {"application": application_id, "user": user_id})


def _insert_batches(table: str, columns: str, select: str, count: int, params: dict) -> None:
    for start in range(1, count + 1, BATCH):
        stop = min(count, start + BATCH - 1)
        sql = (f'INSERT INTO "{table}" ({columns}) SELECT {select} '  # noqa: S608 (names from model meta)
               f"FROM generate_series(%(start)s, %(stop)s) AS g")
        with connection.cursor() as cursor:
            cursor.execute(sql, {**params, "start": start, "stop": stop})


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{AccessToken._meta.db_table}", "{RefreshToken._meta.db_table}"')


def prefill(world, rows: int) -> dict:
    """``rows`` live access tokens and ``rows`` live refresh tokens, as a busy server would hold."""
    from oauth_provider.conf import oauth_settings

    started = time.monotonic()
    common = {"application_id": world.web.application.pk, "user_id": world.user.pk}
    insert_access_tokens(rows, audience=oauth_settings.access_token_audience, expired=False, tag="live", **common)
    insert_refresh_tokens(rows, expired=False, tag="live", **common)
    analyze()
    return {"rows_per_table": rows, "seconds": round(time.monotonic() - started, 1)}


def run_cleanup(world, rows: int, command: str = "oauth_cleanup") -> dict:
    """Time ``manage.py oauth_cleanup`` on ``rows`` expired rows; sample its longest transaction."""
    from django.core.management import get_commands

    from oauth_provider.conf import oauth_settings

    if command not in get_commands():
        return {"skipped": f"the {command} command does not exist on this branch"}
    common = {"application_id": world.web.application.pk, "user_id": world.user.pk}
    access_rows = rows // 2
    insert_access_tokens(access_rows, audience=oauth_settings.access_token_audience, expired=True, tag="expired",
                         **common)
    insert_refresh_tokens(rows - access_rows, expired=True, tag="expired", **common)
    analyze()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PGAPPNAME": CLEANUP_APPLICATION_NAME}
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 (our manage.py)
        [sys.executable, str(REPO / "manage.py"), command], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )
    longest = 0.0
    with connection.cursor() as cursor:
        while process.poll() is None:
            # Each open transaction of the command's connection(s): how long it has been open so far.
            cursor.execute(
                "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) "
                "FROM pg_stat_activity WHERE application_name = %s AND xact_start IS NOT NULL",
                [CLEANUP_APPLICATION_NAME],
            )
            longest = max(longest, float(cursor.fetchone()[0]))
            if time.monotonic() - started > 3600:
                process.kill()
                break
            time.sleep(0.02)
    output = process.communicate()[0]
    total = time.monotonic() - started
    now_expired = {
        "access_tokens": AccessToken.objects.filter(expires_at__lt=_now()).count(),
        "refresh_tokens": RefreshToken.objects.filter(expires_at__lt=_now()).count(),
    }
    return {
        "expired_rows": rows,
        "returncode": process.returncode,
        "seconds": round(total, 2),
        "longest_transaction_seconds": round(longest, 3),
        "expired_rows_left": now_expired,
        "output_tail": output[-2000:],
    }


def _now():
    from django.utils import timezone

    return timezone.now()


def run_scale(bench, cases, empty_rows: list[dict]) -> dict:
    """Cases marked ``scale`` (and their floors) again on full tables, then the clean-up command."""
    config = bench.config
    names = {c.name for c in cases if c.scale}
    names |= {c.floor for c in cases if c.name in names and c.floor}
    scale_cases = [c for c in cases if c.name in names]
    log(f"inserting {config.scale_rows:,} access tokens and {config.scale_rows:,} refresh tokens")
    result: dict = {"prefill": prefill(bench.world, config.scale_rows)}
    log(f"inserted in {result['prefill']['seconds']} s")
    ready, skipped = bench.prepare(scale_cases)
    runs = bench.measure(ready)
    suffix = f" @{config.scale_rows:,}"
    result["cases"] = bench.rows(scale_cases, ready, skipped, runs, suffix=suffix)
    empty = {row["name"]: row for row in empty_rows}
    comparison = []
    for row in result["cases"]:
        base = empty.get(row["name"].removesuffix(suffix))
        if not base or row.get("skipped") or base.get("skipped") or row.get("ratio") is None:
            continue
        relative = row["ratio"] / base["ratio"]
        comparison.append({"name": base["name"], "empty_ratio": base["ratio"], "full_ratio": row["ratio"],
                           "full_vs_empty": relative, "holds": relative >= 0.90,
                           "queries_empty": base.get("queries"), "queries_full": row.get("queries")})
    result["comparison"] = comparison
    result["cleanup"] = run_cleanup(bench.world, config.scale_rows)
    return result


def format_scale(scale: dict) -> str:
    from .report import format_table

    lines = [f"1M-row part: prefill {scale['prefill']['rows_per_table']:,} rows per token table "
             f"in {scale['prefill']['seconds']} s", format_table(scale["cases"]), ""]
    for item in scale["comparison"]:
        lines.append(f"{item['name']}: ratio to floor {item['empty_ratio']:.2f} empty, {item['full_ratio']:.2f} "
                     f"full = {item['full_vs_empty']:.2f} of the empty-table figure "
                     f"({'holds' if item['holds'] else 'MISSES'} the within-10% target)")
    cleanup = scale["cleanup"]
    if "skipped" in cleanup:
        lines.append(f"clean-up: skipped: {cleanup['skipped']}")
    else:
        lines.append(f"clean-up of {cleanup['expired_rows']:,} expired rows: {cleanup['seconds']} s, longest "
                     f"transaction {cleanup['longest_transaction_seconds']} s (sampled every 20 ms; target <= 1 s), "
                     f"exit {cleanup['returncode']}, expired rows left {cleanup['expired_rows_left']}")
    return "\n".join(lines)

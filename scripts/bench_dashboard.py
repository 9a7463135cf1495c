"""Time the admin dashboard and the client list against the database in DATABASE_URL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oauth_bench7 python manage.py oauth_seed_audit --rows 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oauth_bench7 python scripts/bench_dashboard.py [--explain]

Prints the wall time of each page through Django's test client: for each dashboard range first "cold"
(the hourly roll-ups emptied, so the request rolls its hours up itself, at most DASHBOARD_ROLLUP_MAX_DAYS),
then, after a VACUUM ANALYZE of the roll-up table (what autovacuum does soon after a catch-up), warm (best
of three runs); then the time of `oauth_rollup_activity` over the whole table. With
--explain, the EXPLAIN ANALYZE plan of each dashboard query of the 30-day range (PostgreSQL).
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from oauth_provider.admin.rollup import roll_up_all  # noqa: E402
from oauth_provider.models import ActivityHour, ActivityRollupState, AuditEvent  # noqa: E402

PAGES = [
    ("dashboard, last 24 h", "/admin/oauth_provider/activitydashboard/"),
    ("dashboard, last 7 days", "/admin/oauth_provider/activitydashboard/?range=7d"),
    ("dashboard, last 30 days", "/admin/oauth_provider/activitydashboard/?range=30d"),
    ("client list", "/admin/oauth_provider/application/"),
    ("audit trail, first page", "/admin/oauth_provider/auditevent/"),
    ("audit trail, one event", "/admin/oauth_provider/auditevent/?event=refresh_token_reused"),
]


def main() -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    admin, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_staff": True,
                                                                                       "is_superuser": True})
    client = Client()
    client.force_login(admin)
    print(f"{AuditEvent.objects.count()} audit rows on {connection.vendor}")
    for label, url in PAGES:
        if "activitydashboard" in url:
            forget_rollups()
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            print(f"{label + ', cold':28} {(time.perf_counter() - started) * 1000:8.0f} ms  ({len(queries)} queries, "
                  f"{ActivityHour.objects.count()} roll-up rows)")
            vacuum_rollups()
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        print(f"{label:28} {min(timings) * 1000:8.0f} ms  ({len(queries)} queries)")
    forget_rollups()
    started = time.perf_counter()
    hours = roll_up_all()
    print(f"oauth_rollup_activity: {hours} hours, {ActivityHour.objects.count()} roll-up rows, "
          f"{time.perf_counter() - started:.1f} s")
    vacuum_rollups()
    if "--explain" in sys.argv and connection.vendor == "postgresql":
        with CaptureQueriesContext(connection) as queries:
            client.get(PAGES[2][1])
        with connection.cursor() as cursor:
            for query in queries.captured_queries:
                if not {"oauth_provider_auditevent", "oauth_provider_activityhour"} & set(query["sql"].split('"')):
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                print("\n" + query["sql"][:300] + " ...")
                print("\n".join(row[0] for row in cursor.fetchall()))


def forget_rollups() -> None:
    """Empty the roll-ups, as before the first dashboard view after an upgrade."""
    ActivityRollupState.objects.all().delete()
    ActivityHour.objects.all().delete()


def vacuum_rollups() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM ANALYZE {ActivityHour._meta.db_table}")
        else:
            cursor.execute("ANALYZE")


if __name__ == "__main__":
    main()

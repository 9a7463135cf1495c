"""The hourly roll-up: the dashboard shows exactly what counting the audit trail shows, with complete
past hours read from ActivityHour, rolled up lazily, once, and within a bounded amount per request."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.admin.activity import activity, direct_activity
from oauth_provider.admin.rollup import last_complete_hour, roll_up, roll_up_hours, rolled_hours
from oauth_provider.cleanup import clean_up
from oauth_provider.models import ActivityHour, AuditEvent
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

# A fixed past instant; the events lie in the five days before it.
END = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
KINDS = [
    (audit.TOKEN_ISSUED, {"grant_type": "client_credentials"}),
    (audit.TOKEN_ISSUED, {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}),
    (audit.TOKEN_ISSUED, {}),
    (audit.CODE_REDEEMED, {}),
    (audit.REFRESH_TOKEN_ROTATED, {}),
    (audit.CODE_ISSUED, {}),
    (audit.CLIENT_AUTH_FAILED, {"reason": "wrong_secret"}),
    (audit.REFRESH_TOKEN_REUSED, {}),
    (audit.CODE_REPLAYED, {}),
    (audit.CONSENT_GRANTED, {}),
    (audit.CONSENT_DENIED, {}),
    (audit.DEVICE_CODE_APPROVED, {}),
    (audit.DEVICE_CODE_DENIED, {}),
]


@pytest.fixture
def events():
    """600 events of every kind over five days, from three clients and an unknown one, some on the hour."""
    rng = random.Random(7)
    clients = [ApplicationFactory() for _ in range(3)]
    rows = []
    for number in range(600):
        event, details = rng.choice(KINDS)
        application = rng.choice([*clients, None])
        at = END - timedelta(seconds=rng.randrange(5 * 86400))
        if number % 50 == 0:
            at = at.replace(minute=0, second=0, microsecond=0)  # exactly on an hour boundary
        rows.append(AuditEvent(event=event, application=application, details=details, created_at=at,
                               client_id=application.client_id if application else "unknown-client"))
    AuditEvent.objects.bulk_create(rows)
    return clients


def same(rolled, direct) -> None:
    assert rolled.hourly == direct.hourly
    assert rolled.tokens_by_grant.buckets == direct.tokens_by_grant.buckets
    assert rolled.tokens_by_grant.values == direct.tokens_by_grant.values
    assert rolled.tokens_by_client == direct.tokens_by_client
    assert rolled.outcomes.values == direct.outcomes.values
    assert rolled.attention == direct.attention
    assert rolled.client_names == direct.client_names


RANGES = [
    (END - timedelta(hours=24, minutes=17), END - timedelta(minutes=17)),  # hourly, partial first and last hour
    (END - timedelta(days=5), END),  # hourly
    (END - timedelta(days=7, seconds=1), END + timedelta(minutes=3)),  # daily
]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_rolled_up_counts_equal_counting_the_audit_trail(events, start, end):
    direct = direct_activity(start, end)
    assert direct.tokens_by_grant.total() > 0
    # Nothing rolled up yet, then the roll-up boundary inside the range, then all of it rolled up.
    for now in (END - timedelta(days=2, minutes=30), END - timedelta(hours=5, minutes=3), END + timedelta(hours=2)):
        same(activity(start, end, now=now), direct)
        assert rolled_hours().end == last_complete_hour(now)


def test_second_view_does_not_count_twice(events):
    start, end = END - timedelta(days=3), END
    first = activity(start, end, now=END + timedelta(hours=1))
    again = activity(start, end, now=END + timedelta(hours=1))
    same(again, first)
    same(again, direct_activity(start, end))


def test_hours_straddling_the_rolled_boundary_are_counted_once(events):
    # Rolled up to 09:00; the 09:00 hour is live, the 08:00 hour rolled: both exactly once.
    now = END - timedelta(hours=3) + timedelta(minutes=6)
    start, end = END - timedelta(hours=5), END
    result = activity(start, end, now=now)
    assert rolled_hours().end == END - timedelta(hours=3)
    same(result, direct_activity(start, end))


def test_rolling_an_hour_again_replaces_its_counts(events):
    start, end = END - timedelta(days=5), END
    roll_up_hours(start, end)
    roll_up_hours(start, end)
    assert ActivityHour.objects.aggregate(n=Sum("count"))["n"] == AuditEvent.objects.count()


def test_roll_up_groups_by_hour_event_client_and_grant():
    AuditEvent.objects.bulk_create([
        AuditEvent(event=audit.TOKEN_ISSUED, client_id="a", details={"grant_type": "client_credentials"},
                   created_at=END - timedelta(minutes=minutes))
        for minutes in (1, 2, 59, 61)
    ])
    roll_up_hours(END - timedelta(hours=2), END)
    assert sorted(ActivityHour.objects.values_list("hour", "event", "client_id", "grant_type", "count")) == [
        (END - timedelta(hours=2), audit.TOKEN_ISSUED, "a", "client_credentials", 1),
        (END - timedelta(hours=1), audit.TOKEN_ISSUED, "a", "client_credentials", 3),
    ]


@pytest.mark.parametrize(("now", "complete"), [
    (END + timedelta(minutes=4), END - timedelta(hours=1)),
    (END + timedelta(minutes=5), END),
])
def test_only_hours_ended_five_minutes_ago_are_rolled_up(now, complete):
    assert last_complete_hour(now) == complete


def test_current_hour_is_never_rolled_up(events):
    AuditEvent.objects.create(event=audit.TOKEN_ISSUED, client_id="late", created_at=END + timedelta(minutes=30))
    activity(END - timedelta(hours=24), END + timedelta(minutes=40), now=END + timedelta(minutes=40))
    assert not ActivityHour.objects.filter(hour__gte=END).exists()


def test_view_with_nothing_to_roll_up_reads_the_state_once(events, django_assert_num_queries):
    now = END + timedelta(hours=1)
    roll_up(END - timedelta(days=5), now=now)
    with django_assert_num_queries(1):
        roll_up(END - timedelta(days=5), now=now)


def test_one_view_rolls_up_at_most_the_configured_days(events, settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "DASHBOARD_ROLLUP_MAX_DAYS": 1}
    start, end, now = END - timedelta(days=5), END, END + timedelta(hours=1)
    same(activity(start, end, now=now), direct_activity(start, end))
    assert rolled_hours().start == END - timedelta(days=1)
    same(activity(start, end, now=now), direct_activity(start, end))
    assert rolled_hours().start == END - timedelta(days=2)


def test_hours_before_the_oldest_event_are_not_rolled_one_by_one(events, settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "DASHBOARD_ROLLUP_MAX_DAYS": 1}
    # A year after the events: the empty hours in between cost nothing, the budget goes to hours with events.
    activity(END - timedelta(days=30), END, now=END + timedelta(days=365))
    assert rolled_hours().start == END - timedelta(days=1)


def test_time_zone_with_whole_hour_offset_uses_roll_ups(events):
    start, end = END - timedelta(days=5), END
    with timezone.override("America/New_York"):
        same(activity(start, end, now=END + timedelta(hours=1)), direct_activity(start, end))
        daily = (END - timedelta(days=9), END)
        same(activity(*daily, now=END + timedelta(hours=1)), direct_activity(*daily))
    assert ActivityHour.objects.exists()


def test_time_zone_with_half_hour_offset_counts_the_audit_trail(events):
    start, end = END - timedelta(days=5), END
    with timezone.override("Asia/Kolkata"):
        same(activity(start, end, now=END + timedelta(hours=1)), direct_activity(start, end))
    assert not ActivityHour.objects.exists()


def test_clean_up_deletes_roll_ups_past_retention(events, settings):
    start, end, now = END - timedelta(days=5), END, timezone.now()
    activity(start, end, now=now)  # everything rolled up
    # Keep the events of the last 2.5 days of the seeded five.
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER,
                               "AUDIT_RETENTION_DAYS": (now - (END - timedelta(days=2, hours=12))).days}
    clean_up()
    cutoff = now - timedelta(days=settings.OAUTH_PROVIDER["AUDIT_RETENTION_DAYS"])
    assert not AuditEvent.objects.filter(created_at__lt=cutoff).exists()
    assert not ActivityHour.objects.filter(hour__lt=cutoff - timedelta(hours=1)).exists()
    assert rolled_hours().start >= cutoff
    same(activity(start, end, now=now), direct_activity(start, end))


def test_rollup_command_rolls_up_the_whole_trail(events):
    out = io.StringIO()
    call_command("oauth_rollup_activity", stdout=out)
    assert "Rolled up" in out.getvalue()
    assert ActivityHour.objects.aggregate(n=Sum("count"))["n"] == AuditEvent.objects.count()
    hours = rolled_hours()
    assert hours.start <= END - timedelta(days=5) and hours.end == last_complete_hour()
    start, end = END - timedelta(days=5), END
    same(activity(start, end), direct_activity(start, end))


def test_rollup_command_again_counts_once(events):
    call_command("oauth_rollup_activity", stdout=io.StringIO())
    call_command("oauth_rollup_activity", "--days", "1000", stdout=io.StringIO())
    assert ActivityHour.objects.aggregate(n=Sum("count"))["n"] == AuditEvent.objects.count()

"""Hourly roll-ups of the audit trail (``ActivityHour``), so that the dashboard's 7- and 30-day ranges
read a few thousand counts instead of hundreds of thousands of audit rows.

How it stays exact, and why it costs the token endpoint nothing:
- Nothing is written when an event is recorded: the dashboard rolls hours up lazily, when it needs them
  (no cron job is required), at most ``DASHBOARD_ROLLUP_MAX_DAYS`` per request so that no page view
  does unbounded work; hours not rolled up yet are counted live from the audit trail, so a page is
  exact either way. ``manage.py oauth_rollup_activity`` rolls everything up ahead (cron, or once after
  an upgrade, so that the first 30-day view is warm).
- Only complete past hours are rolled up: an hour is complete ``ROLLUP_DELAY`` after it ends, which
  leaves time for the transaction of a request that recorded an event at 10:59:59 to commit. Events
  are written with ``created_at=now``; one stamped later into an hour already rolled up would be
  missing from the dashboard (not from the audit trail) until that hour is rolled up again
  (``oauth_rollup_activity --days``).
- The rolled hours are one contiguous interval, [rolled_from, rolled_up_to) of ``ActivityRollupState``;
  roll-up rows outside it are ignored. The interval grows forward to the last complete hour and
  backward to the start of a requested range, under a row lock, so two requests never roll the same
  hours at once.
- Each batch deletes its hours' roll-ups, then writes them with one ``INSERT ... SELECT ... GROUP BY``:
  rolling an hour twice never counts it twice.
- Retention: roll-ups follow ``AUDIT_RETENTION_DAYS`` (``forget_before``, called by clean-up). They are a
  cache of the audit trail, never a source, so the dashboard always shows what counting the trail shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from oauth_provider.models import ActivityHour, ActivityRollupState, AuditEvent

HOUR = timedelta(hours=1)
# How long after its end an hour counts as complete: requests still committing events stamped in it.
ROLLUP_DELAY = timedelta(minutes=5)
STATE_PK = 1


def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour holding ``moment``."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    """The first UTC hour boundary at or after ``moment``."""
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def last_complete_hour(now: datetime | None = None) -> datetime:
    """The end of the last hour that may be rolled up (an hour boundary)."""
    return floor_hour((now or timezone.now()) - ROLLUP_DELAY)


@dataclass(frozen=True)
class RolledHours:
    """The hours rolled up: [start, end), hour boundaries; both None when nothing is."""

    start: datetime | None
    end: datetime | None

    def within(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        """The rolled hours lying wholly inside [start, end), or None."""
        if self.start is None or self.end is None:
            return None
        first, last = max(self.start, ceil_hour(start)), min(self.end, floor_hour(end))
        return (first, last) if first < last else None


def rolled_hours() -> RolledHours:
    state = ActivityRollupState.objects.filter(pk=STATE_PK).first()
    return RolledHours(state.rolled_from, state.rolled_up_to) if state else RolledHours(None, None)


def _locked_state() -> ActivityRollupState:
    """The state row, created if missing, locked until the end of the caller's transaction."""
    ActivityRollupState.objects.get_or_create(pk=STATE_PK)
    return ActivityRollupState.objects.select_for_update().get(pk=STATE_PK)


def roll_up(since: datetime, *, now: datetime | None = None, max_hours: int | None = None) -> RolledHours:
    """Roll up the complete hours from ``since`` to the last complete hour that are not rolled up yet,
    at most ``max_hours`` of them (None: all), newest first; one query when there is nothing to do."""
    until = last_complete_hour(now)
    wanted_from = min(ceil_hour(since), until)
    current = rolled_hours()
    if current.end == until and current.start is not None and current.start <= wanted_from:
        return current
    with transaction.atomic():
        state = _locked_state()
        if state.rolled_from is None or state.rolled_up_to is None:
            state.rolled_from = state.rolled_up_to = until
        budget = max_hours
        if state.rolled_up_to < until:
            end = until if budget is None else min(until, state.rolled_up_to + budget * HOUR)
            budget = None if budget is None else budget - (end - state.rolled_up_to) // HOUR
            roll_up_hours(state.rolled_up_to, end)
            state.rolled_up_to = end
        if wanted_from < state.rolled_from:
            newest = (AuditEvent.objects.filter(created_at__lt=state.rolled_from).order_by("-created_at")
                      .values_list("created_at", flat=True).first())
            # The hours after the newest earlier event hold no event: rolled up as they are, empty.
            state.rolled_from = wanted_from if newest is None else max(wanted_from, floor_hour(newest) + HOUR)
            if wanted_from < state.rolled_from and (budget is None or budget > 0):
                start = wanted_from if budget is None else max(wanted_from, state.rolled_from - budget * HOUR)
                roll_up_hours(start, state.rolled_from)
                state.rolled_from = start
        state.save()
    return RolledHours(state.rolled_from, state.rolled_up_to)


def roll_up_hours(start: datetime, end: datetime) -> None:
    """Replace the roll-ups of the hours in [start, end) (hour boundaries) by counts of the audit
    trail: one DELETE and one ``INSERT ... SELECT ... GROUP BY``, on SQLite and PostgreSQL alike."""
    ActivityHour.objects.filter(hour__gte=start, hour__lt=end).delete()
    grouped = (
        AuditEvent.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by()
        .annotate(hour_start=TruncHour("created_at", tzinfo=UTC),
                  grant=Coalesce(KT("details__grant_type"), Value(""), output_field=TextField()))
        .values("hour_start", "event", "client_id", "grant")
        .annotate(n=Count("pk"))
    )
    select, params = grouped.query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(ActivityHour._meta.get_field(name).column)
                        for name in ("hour", "event", "client_id", "grant_type", "count"))
    picked = ", ".join(f"grouped.{quote(name)}" for name in ("hour_start", "event", "client_id", "grant", "n"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(ActivityHour._meta.db_table)} ({columns}) SELECT {picked} FROM ({select}) grouped",  # noqa: S608 - names quoted, values are parameters
            params,
        )


def forget_before(moment: datetime) -> None:
    """Shrink the rolled interval so that it starts after the hour holding ``moment``: clean-up deletes
    the audit events before ``moment`` and the roll-ups of these hours, so the dashboard counts the
    events left in that hour live, and the rest is gone from both, as it would be without roll-ups."""
    boundary = ceil_hour(moment)
    with transaction.atomic():
        state = ActivityRollupState.objects.select_for_update().filter(pk=STATE_PK).first()
        if state is None or state.rolled_from is None or state.rolled_up_to is None or state.rolled_from >= boundary:
            return
        if state.rolled_up_to <= boundary:
            state.rolled_from = state.rolled_up_to = None
        else:
            state.rolled_from = boundary
        state.save()


def roll_up_all(*, days: int | None = None, now: datetime | None = None, batch_hours: int = 24) -> int:
    """Re-roll the last ``days`` days (all the audit trail when None) up to the last complete hour, one
    batch of ``batch_hours`` (one transaction) at a time, newest first; the hours rolled up. For
    ``oauth_rollup_activity``."""
    until = last_complete_hour(now)
    if days is not None:
        since = until - timedelta(days=days)
    else:
        oldest = AuditEvent.objects.order_by("created_at").values_list("created_at", flat=True).first()
        since = floor_hour(oldest) if oldest else until
    end = until
    while end > since:
        start = max(since, end - batch_hours * HOUR)
        with transaction.atomic():
            state = _locked_state()
            roll_up_hours(start, end)
            contiguous = state.rolled_from is not None and state.rolled_up_to is not None and (
                state.rolled_from <= end and start <= state.rolled_up_to)
            if end == until and not contiguous:
                state.rolled_from, state.rolled_up_to = start, end
            else:
                state.rolled_from = min(start, state.rolled_from)
                state.rolled_up_to = max(end, state.rolled_up_to)
            state.save()
        end = start
    return (until - since) // HOUR

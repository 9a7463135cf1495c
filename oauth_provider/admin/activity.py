"""Activity aggregates over the audit trail, for the admin's client list and dashboard.

The audit trail, not the token tables, is the history: clean-up deletes expired tokens, but the
events stay. The dashboard's charts read complete past hours from the hourly roll-up
(``activity_rollup``) and count the rest (the partial first and current hours, hours not rolled up
yet) from the audit trail; the "needs attention" panel and the client list's columns count the audit
trail directly. Every audit-trail query filters on ``event`` and a ``created_at`` range, which the
indexes ``(event, created_at)`` and ``(application, created_at)`` of ``AuditEvent`` serve, and groups in
the database (``values().annotate(Count)``), so the number of queries is fixed and no row is loaded
one by one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, F, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, TruncDay, TruncHour
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.admin import rollup as activity_rollup
from oauth_provider.conf import oauth_settings
from oauth_provider.models import ActivityHour, Application, AuditEvent

TOKEN_EVENTS = tuple(audit.TOKEN_ISSUING_EVENTS)

# Events counted per bucket on the dashboard, in the order the charts show them.
OUTCOME_EVENTS = (
    audit.CLIENT_AUTH_FAILED,
    audit.REFRESH_TOKEN_REUSED,
    audit.CODE_REPLAYED,
    audit.CONSENT_GRANTED,
    audit.CONSENT_DENIED,
    audit.DEVICE_CODE_APPROVED,
    audit.DEVICE_CODE_DENIED,
)
CHARTED_EVENTS = TOKEN_EVENTS + OUTCOME_EVENTS

# Up to this span, charts have one bar per hour; beyond it, one per day.
HOURLY_UP_TO = timedelta(days=7)


def annotate_token_activity(applications: QuerySet[Application], *, now: datetime | None = None) -> QuerySet:
    """Add ``last_token_at`` and ``tokens_24h`` to each client, as two correlated subqueries
    (one statement for the whole list page, each served by the ``(application, created_at)`` index)."""
    since = (now or timezone.now()) - timedelta(hours=24)
    issued = AuditEvent.objects.filter(application=OuterRef("pk"), event__in=TOKEN_EVENTS)
    last = issued.order_by("-created_at").values("created_at")[:1]
    recent = (
        issued.filter(created_at__gte=since)
        .order_by()
        .values("application")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return applications.annotate(
        last_token_at=Subquery(last),
        tokens_24h=Coalesce(Subquery(recent, output_field=IntegerField()), Value(0)),
    )


@dataclass
class Series:
    """Counts per bucket for several named series (bars stacked by name)."""

    buckets: list[datetime]
    values: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Aware datetimes compare and hash by instant, whatever their time zone.
        self._position = {bucket: i for i, bucket in enumerate(self.buckets)}

    def add(self, name: str, bucket: datetime, count: int) -> None:
        counts = self.values.setdefault(name, [0] * len(self.buckets))
        counts[self._position[bucket]] += count

    def total(self, name: str | None = None) -> int:
        if name is not None:
            return sum(self.values.get(name, []))
        return sum(sum(counts) for counts in self.values.values())


@dataclass(frozen=True)
class Attention:
    """One line of the "needs attention" panel."""

    kind: str  # "failed_auth_burst", "refresh_reuse" or "inactive_client_tried"
    client_id: str
    name: str
    count: int
    last_seen: datetime
    detail: str


@dataclass
class Activity:
    start: datetime
    end: datetime
    hourly: bool
    tokens_by_grant: Series
    tokens_by_client: dict[str, dict[str, int]]  # client_id -> grant -> count
    outcomes: Series
    attention: list[Attention]
    client_names: dict[str, str]

    def outcome_total(self, event: str) -> int:
        return self.outcomes.total(event)


def bucket_starts(start: datetime, end: datetime, hourly: bool) -> list[datetime]:
    """The bucket boundaries covering [start, end), in the current time zone (as Trunc* computes them)."""
    tz = timezone.get_current_timezone()
    local = timezone.localtime(start, tz)
    if hourly:
        current = local.replace(minute=0, second=0, microsecond=0)
    else:
        current = local.replace(hour=0, minute=0, second=0, microsecond=0)
    buckets = []
    while current < end:
        buckets.append(current)
        # Step in UTC (wall-clock arithmetic would repeat or skip an hour at DST changes); a
        # 25-hour step always lands on the next calendar day, whose midnight starts the next bucket.
        following = timezone.localtime(current.astimezone(UTC) + timedelta(hours=1 if hourly else 25), tz)
        current = following if hourly else following.replace(hour=0, minute=0, second=0, microsecond=0)
    return buckets


def _in_range(start: datetime, end: datetime) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(created_at__gte=start, created_at__lt=end).order_by()


def _grant_of(event: str, grant: str | None) -> str:
    return grant or audit.TOKEN_ISSUING_EVENTS.get(event) or "unknown"


def activity(start: datetime, end: datetime, *, now: datetime | None = None) -> Activity:
    """Everything the dashboard shows for [start, end): the complete hours rolled up (rolling up
    missing ones first, ``activity_rollup.roll_up``) from ``ActivityHour``, the rest from the audit
    trail; at most nine queries when nothing needs rolling up. The same numbers as ``direct_activity``."""
    hourly = end - start <= HOURLY_UP_TO
    buckets = bucket_starts(start, end, hourly)
    if any(bucket.astimezone(UTC).minute for bucket in buckets):
        # A time zone with a fractional offset (e.g. Asia/Kolkata) cuts UTC hours in two.
        return direct_activity(start, end)
    max_hours = oauth_settings.DASHBOARD_ROLLUP_MAX_DAYS * 24
    rolled = activity_rollup.roll_up(start, now=now, max_hours=max_hours).within(start, end)
    live = [(start, end)] if rolled is None else [(a, b) for a, b in ((start, rolled[0]), (rolled[1], end)) if a < b]

    tokens_by_grant = Series(buckets)
    outcomes = Series(buckets)
    for name in OUTCOME_EVENTS:
        outcomes.values[name] = [0] * len(buckets)
    tokens_by_client: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def count_hours(rows) -> None:
        # Rows per UTC hour; each hour lies wholly in one bucket (checked above).
        for row in rows:
            bucket = buckets[bisect_right(buckets, row["hour"]) - 1]
            if row["event"] in TOKEN_EVENTS:
                tokens_by_grant.add(_grant_of(row["event"], row["grant"]), bucket, row["n"])
            if row["event"] in OUTCOME_EVENTS:
                outcomes.add(row["event"], bucket, row["n"])

    def count_clients(rows) -> None:
        for row in rows:
            tokens_by_client[row["client_id"]][_grant_of(row["event"], row["grant"])] += row["n"]

    if rolled is not None:
        hours = ActivityHour.objects.filter(hour__gte=rolled[0], hour__lt=rolled[1]).order_by()
        count_hours(hours.filter(event__in=CHARTED_EVENTS).values("hour", "event", grant=F("grant_type"))
                    .annotate(n=Sum("count")))
        count_clients(hours.filter(event__in=TOKEN_EVENTS).values("client_id", "event", grant=F("grant_type"))
                      .annotate(n=Sum("count")))
    if live:
        window = Q()
        for live_start, live_end in live:
            window |= Q(created_at__gte=live_start, created_at__lt=live_end)
        events = AuditEvent.objects.filter(window).order_by().annotate(grant=KT("details__grant_type"))
        count_hours(events.filter(event__in=CHARTED_EVENTS).annotate(hour=TruncHour("created_at", tzinfo=UTC))
                    .values("hour", "event", "grant").annotate(n=Count("pk")))
        count_clients(events.filter(event__in=TOKEN_EVENTS).values("client_id", "event", "grant")
                      .annotate(n=Count("pk")))
    return _with_attention(start, end, hourly, tokens_by_grant, tokens_by_client, outcomes)


def direct_activity(start: datetime, end: datetime) -> Activity:
    """What ``activity`` shows, counted from the audit trail alone, in seven grouped queries (for time
    zones whose days or hours do not start on a UTC hour, and to check the roll-ups against)."""
    hourly = end - start <= HOURLY_UP_TO
    trunc = TruncHour if hourly else TruncDay
    buckets = bucket_starts(start, end, hourly)

    # Two small groupings rather than one by bucket and client: the rows coming back stay few
    # (buckets by grants, clients by grants) even for a week of hourly buckets and many clients.
    tokens = (
        _in_range(start, end).filter(event__in=TOKEN_EVENTS).annotate(grant=KT("details__grant_type"))
    )
    tokens_by_grant = Series(buckets)
    for row in tokens.annotate(bucket=trunc("created_at")).values("bucket", "event", "grant").annotate(n=Count("pk")):
        tokens_by_grant.add(_grant_of(row["event"], row["grant"]), row["bucket"], row["n"])
    tokens_by_client: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in tokens.values("client_id", "event", "grant").annotate(n=Count("pk")):
        tokens_by_client[row["client_id"]][_grant_of(row["event"], row["grant"])] += row["n"]

    outcomes = Series(buckets)
    for name in OUTCOME_EVENTS:
        outcomes.values[name] = [0] * len(buckets)
    for row in (
        _in_range(start, end)
        .filter(event__in=OUTCOME_EVENTS)
        .annotate(bucket=trunc("created_at"))
        .values("bucket", "event")
        .annotate(n=Count("pk"))
    ):
        outcomes.add(row["event"], row["bucket"], row["n"])
    return _with_attention(start, end, hourly, tokens_by_grant, tokens_by_client, outcomes)


def _with_attention(start: datetime, end: datetime, hourly: bool, tokens_by_grant: Series,
                    tokens_by_client: dict[str, dict[str, int]], outcomes: Series) -> Activity:
    """The counts, with the "needs attention" panel (live: rare events) and the clients' names."""
    attention = _needs_attention(start, end)
    client_ids = set(tokens_by_client) | {item.client_id for item in attention}
    names = dict(Application.objects.filter(client_id__in=client_ids).values_list("client_id", "name"))
    attention = [
        Attention(a.kind, a.client_id, names.get(a.client_id, ""), a.count, a.last_seen, a.detail) for a in attention
    ]
    return Activity(
        start=start,
        end=end,
        hourly=hourly,
        tokens_by_grant=tokens_by_grant,
        tokens_by_client={client: dict(grants) for client, grants in tokens_by_client.items()},
        outcomes=outcomes,
        attention=attention,
        client_names=names,
    )


def _needs_attention(start: datetime, end: datetime) -> list[Attention]:
    """Clients with bursts of failed authentication, refresh-token reuse, and deactivated clients
    still being tried: three grouped queries."""
    threshold = oauth_settings.DASHBOARD_FAILED_AUTH_BURST
    failures = _in_range(start, end).filter(event=audit.CLIENT_AUTH_FAILED)
    bursts: dict[str, list] = {}
    for row in (
        failures.annotate(hour=TruncHour("created_at"))
        .values("client_id", "hour")
        .annotate(n=Count("pk"), last=Max("created_at"))
        .filter(n__gte=threshold)
    ):
        worst = bursts.setdefault(row["client_id"], [0, 0, row["last"]])
        worst[0] = max(worst[0], row["n"])
        worst[1] += 1
        worst[2] = max(worst[2], row["last"])
    items = [
        Attention("failed_auth_burst", client_id, "", peak, last,
                  f"{hours} hour(s) with ≥ {threshold} failed authentications; worst hour: {peak}")
        for client_id, (peak, hours, last) in bursts.items()
    ]
    for row in (
        _in_range(start, end)
        .filter(event=audit.REFRESH_TOKEN_REUSED)
        .values("client_id")
        .annotate(n=Count("pk"), last=Max("created_at"))
    ):
        items.append(Attention("refresh_reuse", row["client_id"], "", row["n"], row["last"],
                               f"{row['n']} refresh-token reuse detection(s); the families were revoked"))
    for row in (
        failures.filter(application__is_active=False)
        .values("client_id")
        .annotate(n=Count("pk"), last=Max("created_at"))
    ):
        items.append(Attention("inactive_client_tried", row["client_id"], "", row["n"], row["last"],
                               f"deactivated, yet {row['n']} authentication attempt(s)"))
    return sorted(items, key=lambda item: (-item.count, item.client_id, item.kind))

"""The activity dashboard: aggregates match seeded events, charts are self-contained SVG, bounded queries."""

from __future__ import annotations

import io
import itertools
import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from oauth_provider import audit
from oauth_provider.admin.activity import activity, bucket_starts
from oauth_provider.admin.charts import PLOT_HEIGHT, axis_ticks, count_label, horizontal_bars, stacked_bars
from oauth_provider.models import AuditEvent
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/oauth_provider/activitydashboard/"
# A fixed hour in the past, so that buckets are known: [END - 24 h, END).
END = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.get_fixed_timezone(0))
START = END - timedelta(hours=24)


def seed(event: str, count: int, *, at: datetime, application=None, client_id: str = "", **details) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(event=event, application=application, client_id=application.client_id if application else client_id,
                   details=details, created_at=at + timedelta(seconds=i))
        for i in range(count)
    )


@pytest.fixture
def seeded():
    """A few hundred events in known buckets, plus some outside the range."""
    service = ApplicationFactory(name="Service")
    web = ApplicationFactory(name="Web")
    hour_a = END - timedelta(hours=3)  # 09:00
    hour_b = END - timedelta(hours=1)  # 11:00
    seed(audit.TOKEN_ISSUED, 120, at=hour_a, application=service, grant_type="client_credentials")
    seed(audit.TOKEN_ISSUED, 30, at=hour_b, application=service, grant_type="client_credentials")
    seed(audit.CODE_REDEEMED, 40, at=hour_a, application=web)
    seed(audit.REFRESH_TOKEN_ROTATED, 25, at=hour_b, application=web)
    seed(audit.CLIENT_AUTH_FAILED, 12, at=hour_b, application=service, reason="wrong_secret")
    seed(audit.CLIENT_AUTH_FAILED, 3, at=hour_a, client_id="unknown-client", reason="unknown_client")
    seed(audit.REFRESH_TOKEN_REUSED, 2, at=hour_b, application=web)
    seed(audit.CONSENT_GRANTED, 17, at=hour_a, application=web)
    seed(audit.CONSENT_DENIED, 4, at=hour_b, application=web)
    seed(audit.DEVICE_CODE_APPROVED, 6, at=hour_a, application=web)
    seed(audit.DEVICE_CODE_DENIED, 1, at=hour_a, application=web)
    # Outside the range: the day before, and exactly at its end.
    seed(audit.TOKEN_ISSUED, 50, at=START - timedelta(hours=2), application=service, grant_type="client_credentials")
    seed(audit.TOKEN_ISSUED, 1, at=END, application=service, grant_type="client_credentials")
    return service, web


def test_tokens_are_counted_by_grant(seeded):
    result = activity(START, END)
    assert {name: sum(counts) for name, counts in result.tokens_by_grant.values.items()} == {
        "client_credentials": 150, "authorization_code": 40, "refresh_token": 25,
    }


def test_tokens_are_counted_per_hour(seeded):
    result = activity(START, END)
    assert len(result.tokens_by_grant.buckets) == 24
    by_hour = {bucket.hour: sum(counts[i] for counts in result.tokens_by_grant.values.values())
               for i, bucket in enumerate(result.tokens_by_grant.buckets)}
    assert by_hour[9] == 160 and by_hour[11] == 55
    assert sum(by_hour.values()) == 215


def test_tokens_are_counted_by_client_and_grant(seeded):
    service, web = seeded
    result = activity(START, END)
    assert result.tokens_by_client == {
        service.client_id: {"client_credentials": 150},
        web.client_id: {"authorization_code": 40, "refresh_token": 25},
    }


def test_security_and_decision_events_are_counted(seeded):
    result = activity(START, END)
    assert {event: result.outcome_total(event) for event in (
        audit.CLIENT_AUTH_FAILED, audit.REFRESH_TOKEN_REUSED, audit.CODE_REPLAYED, audit.CONSENT_GRANTED,
        audit.CONSENT_DENIED, audit.DEVICE_CODE_APPROVED, audit.DEVICE_CODE_DENIED)} == {
        audit.CLIENT_AUTH_FAILED: 15, audit.REFRESH_TOKEN_REUSED: 2, audit.CODE_REPLAYED: 0,
        audit.CONSENT_GRANTED: 17, audit.CONSENT_DENIED: 4, audit.DEVICE_CODE_APPROVED: 6, audit.DEVICE_CODE_DENIED: 1,
    }


def test_long_ranges_are_counted_per_day(seeded):
    result = activity(END - timedelta(days=30), END)
    assert not result.hourly
    assert len(result.tokens_by_grant.buckets) in (30, 31)
    assert result.tokens_by_grant.total() == 265


def test_burst_of_failed_authentication_needs_attention(seeded, settings):
    service, _ = seeded
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "DASHBOARD_FAILED_AUTH_BURST": 10}
    bursts = [a for a in activity(START, END).attention if a.kind == "failed_auth_burst"]
    assert [(a.client_id, a.name, a.count) for a in bursts] == [(service.client_id, "Service", 12)]


def test_failures_below_the_burst_threshold_need_no_attention(seeded, settings):
    settings.OAUTH_PROVIDER = {**settings.OAUTH_PROVIDER, "DASHBOARD_FAILED_AUTH_BURST": 13}
    assert not [a for a in activity(START, END).attention if a.kind == "failed_auth_burst"]


def test_refresh_reuse_needs_attention(seeded):
    _, web = seeded
    reuse = [a for a in activity(START, END).attention if a.kind == "refresh_reuse"]
    assert [(a.client_id, a.count) for a in reuse] == [(web.client_id, 2)]


def test_deactivated_client_still_being_tried_needs_attention(seeded):
    service, _ = seeded
    service.is_active = False
    service.save()
    tried = [a for a in activity(START, END).attention if a.kind == "inactive_client_tried"]
    assert [(a.client_id, a.count) for a in tried] == [(service.client_id, 12)]


def test_hour_buckets_cover_the_range_in_order():
    buckets = bucket_starts(START, END, hourly=True)
    assert buckets[0] == START and buckets[-1] == END - timedelta(hours=1)
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(buckets))


# --- the page ---------------------------------------------------------------------------------


def test_dashboard_shows_the_totals_of_the_last_24_hours(admin_client):
    service = ApplicationFactory()
    now = timezone.now()
    seed(audit.TOKEN_ISSUED, 7, at=now - timedelta(hours=2), application=service, grant_type="client_credentials")
    seed(audit.REFRESH_TOKEN_REUSED, 2, at=now - timedelta(hours=2), application=service)
    seed(audit.TOKEN_ISSUED, 5, at=now - timedelta(days=3), application=service, grant_type="client_credentials")
    page = admin_client.get(DASHBOARD).content.decode()
    assert 'id="total-tokens">7<' in page
    assert 'id="total-refresh-reuse">2<' in page
    week = admin_client.get(DASHBOARD, {"range": "7d"}).content.decode()
    assert 'id="total-tokens">12<' in week


def test_custom_range_counts_whole_days(admin_client):
    service = ApplicationFactory()
    seed(audit.TOKEN_ISSUED, 4, at=END, application=service, grant_type="client_credentials")
    day = END.date().isoformat()
    with timezone.override("UTC"):
        page = admin_client.get(DASHBOARD, {"range": "custom", "start": day, "end": day}).content.decode()
    assert 'id="total-tokens">4<' in page


@pytest.mark.parametrize("params", [{"range": "custom", "start": "2025-03-10"},
                                    {"range": "custom", "start": "2025-03-10", "end": "2025-03-01"},
                                    {"range": "custom", "start": "2020-01-01", "end": "2025-01-01"},
                                    {"range": "forever"}])
def test_bad_range_shows_an_error_and_the_last_24_hours(admin_client, params):
    response = admin_client.get(DASHBOARD, params)
    assert response.status_code == 200
    assert "Showing the last 24 hours instead." in response.content.decode()


def test_needs_attention_panel_lists_the_client(admin_client):
    service = ApplicationFactory(name="Noisy service")
    # Ten failures inside one clock hour (the burst is counted per hour).
    hour = (timezone.now() - timedelta(hours=1)).replace(minute=10, second=0, microsecond=0)
    seed(audit.CLIENT_AUTH_FAILED, 10, at=hour, application=service)
    page = admin_client.get(DASHBOARD).content.decode()
    assert 'class="attention-failed_auth_burst"' in page and "Noisy service" in page


PAST_MONTH = {"range": "custom", "start": "2025-02-10", "end": "2025-03-10"}


def test_dashboard_query_count_is_bounded(admin_client, django_assert_num_queries, seeded):
    admin_client.get(DASHBOARD, PAST_MONTH)  # rolls the month's hours up
    # session, user, roll-up state, roll-ups by hour (tokens and outcomes), roll-ups by client, bursts,
    # reuse, inactive clients tried, client names; a past range is wholly rolled up: nothing live
    with django_assert_num_queries(9):
        response = admin_client.get(DASHBOARD, PAST_MONTH)
    assert 'id="total-tokens">266<' in response.content.decode()


def test_dashboard_query_count_of_a_range_ending_now(admin_client, django_assert_num_queries, seeded):
    service, _ = seeded
    seed(audit.TOKEN_ISSUED, 3, at=timezone.now() - timedelta(days=2), application=service, grant_type="x")
    admin_client.get(DASHBOARD, {"range": "30d"})
    # As above, plus the live part (the partial first hour and the current hour) by hour and by client
    with django_assert_num_queries(11):
        response = admin_client.get(DASHBOARD, {"range": "30d"})
    assert 'id="total-tokens">3<' in response.content.decode()


def test_dashboard_query_count_when_rolling_up(admin_client, django_assert_num_queries, seeded):
    # The first view rolls up: + the state created (select, savepoint, insert, release) and locked, the
    # newest earlier event, the hours' roll-ups deleted and inserted, the state saved, in a savepoint
    with django_assert_num_queries(20):
        response = admin_client.get(DASHBOARD, PAST_MONTH)
    assert 'id="total-tokens">266<' in response.content.decode()


def test_charts_are_inline_svg_without_external_urls_or_scripts(admin_client, seeded):
    page = admin_client.get(DASHBOARD, {"range": "custom", "start": "2025-03-09", "end": "2025-03-10"})
    svgs = re.findall(r"<svg class=\"oauth-chart\".*?</svg>", page.content.decode(), flags=re.S)
    assert len(svgs) == 4
    for svg in svgs:
        assert "http" not in svg and "<script" not in svg and "href" not in svg and "<rect" in svg


def test_chart_labels_are_escaped():
    svg = horizontal_bars([("<script>alert(1)</script>", {"<b>": 3})], title="t")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
    bars = stacked_bars([END], {"<i>": [1]}, title="<x>", hourly=True)
    assert "<i>" not in bars and "&lt;x&gt;" in bars


def test_dashboard_is_listed_in_the_admin_index(admin_client):
    assert DASHBOARD in admin_client.get("/admin/").content.decode()


def test_staff_with_the_dashboard_permission_sees_it(client):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_activitydashboard"))
    client.force_login(user)
    assert client.get(DASHBOARD).status_code == 200


def test_dashboard_refuses_staff_without_the_permission(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(DASHBOARD).status_code == 403


def test_dashboard_sends_others_to_the_admin_login(client):
    client.force_login(UserFactory())
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_seed_command_writes_the_rows_the_dashboard_counts():
    from django.core.management import call_command

    call_command("oauth_seed_audit", rows=300, days=2, clients=3, batch_size=100, stdout=io.StringIO())
    assert AuditEvent.objects.count() == 300
    now = timezone.now()
    result = activity(now - timedelta(days=3), now + timedelta(seconds=1))
    issued = AuditEvent.objects.filter(event__in=(audit.TOKEN_ISSUED, audit.CODE_REDEEMED,
                                                  audit.REFRESH_TOKEN_ROTATED)).count()
    assert result.tokens_by_grant.total() == issued
    assert len(result.tokens_by_client) == 3


def test_needs_attention_panel_is_capped_and_says_how_many_more(admin_client):
    now = timezone.now() - timedelta(minutes=30)
    for number in range(27):
        seed(audit.REFRESH_TOKEN_REUSED, 1, at=now, client_id=f"client-{number}")
    page = admin_client.get(DASHBOARD).content.decode()
    assert page.count('class="attention-refresh_reuse"') == 25
    assert "And 2 more lines." in page


def test_a_grant_has_the_same_colour_in_both_token_charts(admin_client, seeded):
    page = admin_client.get(DASHBOARD, {"range": "custom", "start": "2025-03-09", "end": "2025-03-10"})
    svgs = re.findall(r"<svg class=\"oauth-chart\".*?</svg>", page.content.decode(), flags=re.S)
    legends = [re.findall(r'fill="(#\w+)"></rect><text[^>]*>([^<]+)</text>', svg) for svg in svgs[:2]]
    assert legends[0] == legends[1] and len(legends[0]) == 3


def test_dashboard_has_no_pages_per_row(admin_client):
    event = AuditEvent.objects.create(event=audit.TOKEN_ISSUED, client_id="x")
    assert admin_client.get(f"{DASHBOARD}{event.pk}/change/").status_code == 404


# --- axes: round ticks, bars scaled to the top tick (issue 19) ---------------------------------


@pytest.mark.parametrize(("peak", "ticks"), [
    (0, [0, 1]), (1, [0, 1]), (3, [0, 1, 2, 3]), (5, [0, 1, 2, 3, 4, 5]), (7, [0, 2, 4, 6, 8]),
    (10, [0, 2, 4, 6, 8, 10]), (120, [0, 50, 100, 150]), (160, [0, 50, 100, 150, 200]),
    (1000, [0, 200, 400, 600, 800, 1000]), (1001, [0, 500, 1000, 1500]),
])
def test_axis_ticks_are_round_steps_from_zero_up_to_the_peak(peak, ticks):
    assert axis_ticks(peak) == ticks


@pytest.mark.parametrize("peak", [2, 9, 11, 99, 101, 777, 12_345, 999_999, 10**9 + 7])
def test_axis_ticks_hold_for_any_peak(peak):
    ticks = axis_ticks(peak)
    step = ticks[1]
    assert ticks[0] == 0 and ticks[-1] >= peak > ticks[-2]
    assert 2 <= len(ticks) <= 6 and all(b - a == step for a, b in itertools.pairwise(ticks))
    assert str(step).rstrip("0") in ("1", "2", "5")


def test_count_labels_stay_short():
    assert [count_label(v) for v in (0, 950, 9500, 12_000, 150_000, 2_500_000)] == [
        "0", "950", "9500", "12k", "150k", "2.5M"]


def _y_ticks(svg: str) -> list[tuple[float, str]]:
    found = re.findall(r'<text class="tick-y" x="[\d.]+" y="([\d.]+)"[^>]*>([^<]+)</text>', svg)
    return [(float(y), label) for y, label in found]


def test_stacked_bars_label_every_tick_and_scale_bars_to_the_top_one():
    buckets = [END - timedelta(hours=3 - i) for i in range(3)]
    svg = stacked_bars(buckets, {"a": [3, 0, 1], "b": [4, 2, 0]}, title="t", hourly=True)
    ticks = _y_ticks(svg)
    assert [label for _, label in ticks] == ["0", "2", "4", "6", "8"]
    # Evenly spaced, 0 at the bottom, the top tick at the top of the plot.
    ys = [y for y, _ in ticks]
    assert ys == sorted(ys, reverse=True) and ys[0] - ys[-1] == PLOT_HEIGHT
    assert len({round(a - b, 1) for a, b in itertools.pairwise(ys)}) == 1
    # A gridline per tick above 0, and the first bucket's stack (3 + 4 = 7 of 8) is 7/8 of the plot high.
    assert svg.count('<line class="grid"') == 4
    heights = [float(h) for h in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"', svg)]
    assert heights[0] + heights[1] == pytest.approx(7 / 8 * PLOT_HEIGHT, abs=0.2)
    # The labelled buckets get a tick mark on the x axis.
    assert svg.count('<line class="tick-x"') >= 1


def test_an_empty_chart_still_has_an_axis():
    svg = stacked_bars([END], {"a": [0]}, title="t", hourly=True)
    assert [label for _, label in _y_ticks(svg)] == ["0", "1"]


def test_horizontal_bars_have_an_x_axis_with_round_ticks():
    svg = horizontal_bars([("Service", {"client_credentials": 150}), ("Web", {"authorization_code": 40,
                                                                              "refresh_token": 25})], title="t")
    labels = re.findall(r'<text class="tick-x"[^>]*>([^<]+)</text>', svg)
    assert labels == ["0", "50", "100", "150"]
    assert svg.count('<line class="grid"') == 3
    # The longest bar reaches the last tick: the bar and the tick's x agree.
    widths = [float(w) for w in re.findall(r'<rect x="200.0" y="[\d.]+" width="([\d.]+)"', svg)]
    last_tick_x = float(re.findall(r'<text class="tick-x" x="([\d.]+)"', svg)[-1])
    assert 200 + max(widths) == pytest.approx(last_tick_x, abs=0.1)


def test_dashboard_charts_show_ticks_of_the_seeded_counts(admin_client, seeded):
    page = admin_client.get(DASHBOARD, {"range": "custom", "start": "2025-03-09", "end": "2025-03-10"})
    svgs = re.findall(r"<svg class=\"oauth-chart\".*?</svg>", page.content.decode(), flags=re.S)
    # The busiest hour issued 160 tokens (09:00): the axis runs 0, 50, ..., 200 (not just 0 and 160).
    assert [label for _, label in _y_ticks(svgs[0])] == ["0", "50", "100", "150", "200"]
    assert "160" not in [label for _, label in _y_ticks(svgs[0])]


# --- an invalid custom range says so beside the field it concerns (issue 19) -------------------


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"range": "custom", "start": "2025-03-10"}, "end", "A custom range needs a last day."),
    ({"range": "custom", "end": "2025-03-10"}, "start", "A custom range needs a first day."),
    ({"range": "custom", "start": "2025-03-10", "end": "2025-03-01"}, "end", "The range ends before it starts."),
    ({"range": "custom", "start": "2020-01-01", "end": "2025-01-01"}, "end", "Choose at most 366 days."),
    ({"range": "custom", "start": "2025-02-30", "end": "2025-03-01"}, "start", "Enter a valid date."),
])
def test_invalid_custom_range_shows_the_error_at_its_field(admin_client, params, field, message):
    page = admin_client.get(DASHBOARD, params).content.decode()
    # The field is marked invalid and points at its error, which is right there.
    assert re.search(rf'<input type="date" name="{field}"[^>]*aria-invalid="true" '
                     rf'aria-describedby="id_{field}_error"', page)
    assert f'<ul class="errorlist" id="id_{field}_error"><li>{message}</li></ul>' in page
    # The summary is announced, names the field, and says what is shown instead.
    summary = re.search(r'<div class="errornote" id="range-errors" role="alert">(.*?)</div>', page, flags=re.S)
    assert summary and message in summary[1] and "Showing the last 24 hours instead." in summary[1]
    # The choice and the dates typed stay in the form, to be fixed.
    assert '<option value="custom" selected>Custom</option>' in page
    for name in ("start", "end"):
        if params.get(name):
            assert f'name="{name}" value="{params[name]}"' in page


def test_a_date_that_does_not_parse_is_not_also_called_missing(admin_client):
    page = admin_client.get(DASHBOARD, {"range": "custom", "start": "2025-02-30", "end": "2025-03-01"})
    assert "needs a first day" not in page.content.decode()


def test_a_valid_custom_range_shows_no_error(admin_client):
    page = admin_client.get(DASHBOARD, {"range": "custom", "start": "2025-03-01", "end": "2025-03-10"}).content.decode()
    assert 'id="range-errors"' not in page and 'aria-invalid' not in page
    assert "2025-03-01 00:00" in page

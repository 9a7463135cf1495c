"""The benchmark harness (bench/) stays importable and its parsers and writers stay right.

Not a benchmark: no server, no wrk, no timing; canned wrk output and a small chart.
"""

from xml.etree import ElementTree

import pytest

from bench import cases, chart, report, run, wrk

WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:18999/oauth/token/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.74ms    2.27ms  19.43ms   89.63%
    Req/Sec     1.51k   406.79     1.93k    81.82%
  Latency Distribution
     50%  820.00us
     75%    2.04ms
     90%    4.08ms
     99%   12.41ms
  1657 requests in 1.10s, 841.45KB read
  Non-2xx or 3xx responses: 7
Requests/sec:   1506.52
Transfer/sec:    765.03KB
"""

LUA_LINE = (
    'BENCH_JSON {"requests": 1657, "duration_us": 1099888, "statuses": {"200": 1650, "400": 7}, '
    '"pool_wrapped": 0, "socket_errors": {"connect": 0, "read": 1, "write": 0, "timeout": 0}, '
    '"latency_us": {"p50": 820, "p90": 4081, "p99": 12407, "max": 19428, "mean": 1740.1}}\n'
)


def test_wrk_summary_is_parsed_without_the_lua_line():
    result = wrk.parse_wrk_output(WRK_OUTPUT)
    assert result.requests == 1657
    assert result.requests_per_sec == 1506.52
    assert result.p50_ms == pytest.approx(0.82)
    assert result.p99_ms == pytest.approx(12.41)
    assert result.non_2xx == 7


def test_lua_line_gives_statuses_and_percentiles():
    result = wrk.parse_wrk_output(WRK_OUTPUT + LUA_LINE)
    assert result.statuses == {"200": 1650, "400": 7}
    assert result.non_2xx == 7
    assert result.socket_errors == 1
    assert result.requests_per_sec == pytest.approx(1657 / 1.099888)
    assert result.p99_ms == pytest.approx(12.407)


def test_svg_chart_has_one_bar_per_case_and_is_well_formed():
    bars = [chart.Bar("client credentials", 0.31, 0.29, 0.33, target=0.25), chart.Bar("jwks <&>", 1.2)]
    root = ElementTree.fromstring(chart.render_svg(bars, "title"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [element.text for element in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "jwks <&>" in texts
    bar_rects = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("height") == "16"]
    assert len(bar_rects) == 2


def test_bar_below_its_target_is_drawn_red():
    svg = chart.render_svg([chart.Bar("slow", 0.1, target=0.25)], "t")
    assert "#c0504d" in svg


def test_ratios_pair_repetitions_with_the_floor():
    runs = [{"requests_per_sec": 100.0}, {"requests_per_sec": 90.0}, {"requests_per_sec": 120.0}]
    floor = [{"requests_per_sec": 400.0}, {"requests_per_sec": 300.0}, {"requests_per_sec": 400.0}]
    assert report.ratios(runs, floor) == {"ratio": 0.3, "ratio_min": 0.25, "ratio_max": 0.3}


def test_verdict_names_each_missed_target():
    row = {"ratio": 0.2, "target_ratio": 0.25, "queries": 4, "max_queries": 3, "non_2xx": 0}
    assert report.verdict(row) == "ratio<0.25, queries>3"
    assert report.verdict({**row, "ratio": 0.3, "queries": 3}) == "ok"


def test_transaction_control_is_counted_apart_from_statements():
    captured = [{"sql": "SELECT 1"}, {"sql": "BEGIN"}, {"sql": "INSERT INTO x VALUES (1)"}, {"sql": "COMMIT"},
                {"sql": 'SAVEPOINT "s1"'}, {"sql": 'RELEASE SAVEPOINT "s1"'}]
    assert run.split_queries(captured) == (2, 4)


def test_every_case_names_an_existing_floor():
    names = {case.name for case in cases.CASES}
    assert {case.floor for case in cases.CASES if case.floor} <= names
    assert len(names) == len(cases.CASES)


def test_a_single_use_header_is_minted_per_request_for_its_url():
    prepared = cases.Prepared(headers={"Authorization": "DPoP t"}, header_name="DPoP",
                              mint_header=lambda url, n: [f"{url}#{i}" for i in range(n)])
    assert prepared.single_use_header and not prepared.single_use
    assert prepared.headers_for("http://x/p") == {"Authorization": "DPoP t", "DPoP": "http://x/p#0"}
    assert cases.Prepared(headers={"A": "b"}).headers_for("http://x/p") == {"A": "b"}


@pytest.mark.django_db
def test_the_dpop_case_mints_proofs_the_server_accepts():
    from bench import fixtures
    from oauth_provider import dpop
    from oauth_provider.resource.validator import get_validator

    world = fixtures.create_world()
    prepared = cases.case_named("protected_api_dpop").prepare(world)
    access = prepared.headers["Authorization"].removeprefix("DPoP ")
    jkt = get_validator().validate(access).claims["cnf"]["jkt"]
    proofs = prepared.mint_header("http://testserver/bench/protected/", 2)
    assert len(set(proofs)) == 2
    for proof in proofs:
        verified = dpop.verify_proof(proof, method="GET", uri="http://testserver/bench/protected/", access_token=access)
        assert verified.jkt == jkt


def _row(name, **extra):
    return {"name": name, "title": name, "rps_median": 1000.0, "rps_spread_pct": 5.0, "p50_ms": 1.0, "p99_ms": 2.0,
            "non_2xx": 0, "queries": 3, "transaction_statements": 2, "floor": "floor_a", "ratio": 0.2,
            "ratio_min": 0.19, "ratio_max": 0.21, "target_ratio": None, "verdict": "ok", **extra}


def test_the_headline_is_durable_and_the_async_column_carries_its_risk():
    rows = [_row("read"), _row("write", **{"async": {"rps_median": 2500.0, "ratio": 0.5}})]
    table = report.format_table(rows)
    assert table.splitlines()[0] == "durable commits (synchronous_commit = on)"
    assert "async req/s" in table and "async ratio" in table
    write_line = next(line for line in table.splitlines() if line.startswith("write"))
    assert write_line.split()[1] == "1000" and write_line.split()[-2:] == ["2500", "0.50"]
    read_line = next(line for line in table.splitlines() if line.startswith("read "))
    assert "2500" not in read_line
    assert report.ASYNC_RISK in table and "refresh token" in report.ASYNC_RISK


def test_without_the_async_pass_the_table_has_no_second_column():
    table = report.format_table([_row("write")])
    assert "async" not in table


def test_every_case_that_commits_per_request_is_measured_again_asynchronously():
    writing = {case.name for case in cases.CASES if case.writes}
    assert writing == {"client_credentials_rs256", "client_credentials_es256", "code_redemption",
                       "refresh_rotation", "revocation"}


def test_the_durable_configuration_is_the_default(monkeypatch):
    monkeypatch.delenv("BENCH_ASYNC", raising=False)
    config = run.Config.from_env()
    assert config.async_pass is True
    assert not hasattr(config, "synchronous_commit")
    monkeypatch.setenv("BENCH_ASYNC", "0")
    assert run.Config.from_env().async_pass is False


def test_set_synchronous_commit_refuses_other_databases_and_values():
    with pytest.raises(SystemExit):
        run.set_synchronous_commit("postgres://postgres@127.0.0.1:5432/test", "off")
    with pytest.raises(ValueError):
        run.set_synchronous_commit("postgres://postgres@127.0.0.1:5432/oauth_bench", "local; DROP")

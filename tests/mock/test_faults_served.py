"""Fault injection over real HTTP: every kind, the plan's control contract, scenarios."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import Served, bearer, login
from tests.support.errors import error_body


def put_plan(served: Served, *rules: dict | str) -> dict:
    return served.admin("PUT", "/__mock__/faults", json={"rules": list(rules)})


def test_plan_contract_put_get_delete(served: Served) -> None:
    shown = put_plan(served, {"status": 500, "path": "/api/1/*", "for": 60})
    assert [r["status"] for r in shown["rules"]] == [500]
    served.clock.advance(15)
    rule = served.admin("GET", "/__mock__/faults")["rules"][0]
    assert rule["remaining"] == pytest.approx(45)
    assert rule["active"] is True and rule["path"] == "/api/1/*"
    appended = served.admin("POST", "/__mock__/faults", json={"rules": ["status=503 path=/status"]})
    assert [r["status"] for r in appended["rules"]] == [500, 503]
    assert served.admin("DELETE", "/__mock__/faults")["rules"] == []


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"rules": [{"status": 200}]}, "status must be an error status from 400 to 599, got 200"),
        ({"rules": [{"status": 500, "rate": 2}]}, "rate must be a number from 0 to 1, got 2"),
        ({"rules": [{"path": "/x"}]}, "a fault rule needs an effect"),
        ({"rules": [{"status": 500, "colour": "red"}]}, "unknown key 'colour'"),
        ({"rules": "status=500"}, 'expected {"rules": [ ... ]}'),
    ],
)
def test_plan_rejects_bad_rules(served: Served, rules: dict, message: str) -> None:
    with served.client() as client:
        response = client.put("/__mock__/faults", json=rules)
    assert response.status_code == 400
    assert message in response.json()["error_description"]
    assert served.admin("GET", "/__mock__/faults")["rules"] == []


def test_status_fault_window_and_recovery(served: Served) -> None:
    put_plan(served, "status=500 path=/api/1/* after=10s for=60s")
    with served.client() as client:
        auth = bearer(login(client))  # /oauth2 is not covered by the rule
        assert client.get("/api/1/vehicles", headers=auth).status_code == 200
        served.clock.advance(10)
        failed = client.get("/api/1/vehicles", headers=auth)
        assert failed.status_code == 500
        assert error_body(failed) == {
            "response": None,
            "error": "internal server error",
            "error_description": "500 server error",
        }
        assert failed.headers["x-txid"]
        served.clock.advance(60)
        assert client.get("/api/1/vehicles", headers=auth).status_code == 200
    requests = served.admin("GET", "/__mock__/stats")["requests"]
    assert {"method": "GET", "path": "/api/1/vehicles", "status": 500, "count": 1} in requests
    assert {"method": "GET", "path": "/api/1/vehicles", "status": 200, "count": 2} in requests


def test_a_faulted_command_is_never_executed(served: Served) -> None:
    with served.client() as client:
        auth = bearer(login(client))
        put_plan(served, "status=503 path=/api/1/vehicles/*/command/* count=2")
        url = "/api/1/vehicles/1492931337242/command/flash_lights"
        headers = {**auth, "Idempotency-Key": "k"}
        assert [client.post(url, headers=headers).status_code for _ in range(3)] == [503, 503, 200]
    stats = served.admin("GET", "/__mock__/stats")
    assert stats["executions"] == {"k": 1}
    assert len(stats["commands"]) == 1


def test_count_and_method(served: Served) -> None:
    put_plan(served, "status=502 path=/status method=POST count=1 body=json")
    with served.client() as client:
        assert client.get("/status").status_code == 200
        assert client.post("/status").status_code == 502
        assert client.post("/status").status_code == 405  # count spent: routed normally


def test_rate_is_seeded_and_partial(served: Served) -> None:
    put_plan(served, "status=500 path=/status rate=0.5")
    with served.client() as client:
        statuses = [client.get("/status").status_code for _ in range(200)]
    failures = statuses.count(500)
    assert 60 < failures < 140
    assert set(statuses) == {200, 500}


def test_html_gateway_body(served: Served) -> None:
    put_plan(served, "status=502 path=/status")  # 502 defaults to an HTML page
    with served.client() as client:
        response = client.get("/status")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in response.text


@pytest.mark.parametrize("status", [503, 504])
def test_empty_body(served: Served, status: int) -> None:
    put_plan(served, f"status={status} path=/status body=empty retry_after=7s")
    with served.client() as client:
        response = client.get("/status")
    assert response.status_code == status and response.content == b""
    assert response.headers["retry-after"] == "7"


def test_truncated_body_is_not_json(served: Served) -> None:
    put_plan(served, "status=500 path=/status body=truncated")
    with served.client() as client:
        response = client.get("/status")
    assert response.status_code == 500
    assert response.content.startswith(b'{"response":null')
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_429_fault_has_retry_after_and_ratelimit_headers(served: Served) -> None:
    put_plan(served, "status=429 path=/status")
    with served.client() as client:
        response = client.get("/status")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert response.headers["ratelimit-remaining"] == "0"
    assert response.json()["error"] == "rate limit exceeded"


def test_408_fault_has_the_vehicle_unavailable_body(served: Served) -> None:
    put_plan(served, "status=408 path=/api/1/*")
    with served.client() as client:
        auth = bearer(login(client))
        response = client.get("/api/1/vehicles/1492931337242/vehicle_data", headers=auth)
    assert response.status_code == 408
    assert response.json()["error"].startswith("vehicle unavailable:")


def test_dropped_connection_is_really_dropped(served: Served) -> None:
    put_plan(served, "drop=true path=/status count=1")
    with served.client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/status")
        assert client.get("/status").text == "ok"  # the next request gets a new connection
    stats = served.admin("GET", "/__mock__/stats")["requests"]
    assert {"method": "GET", "path": "/status", "status": 0, "count": 1} in stats


def test_latency_uses_the_injected_clock(served: Served) -> None:
    put_plan(served, "latency=2500ms path=/status count=1")
    served.clock.slept.clear()
    with served.client() as client:
        assert client.get("/status").text == "ok"
    assert served.clock.slept == [2.5]


def test_latency_with_a_real_clock_trips_a_read_timeout() -> None:
    from tests.conftest import serve

    with serve(clock=None) as server:
        api = server.app.state.api
        from carctl.mock.clock import SystemClock

        api.clock = SystemClock()
        with httpx.Client(base_url=server.url) as client:
            client.put("/__mock__/faults", json={"rules": ["latency=1s path=/status"]})
            with pytest.raises(httpx.ReadTimeout):
                client.get("/status", timeout=0.1)


def test_admin_paths_are_never_faulted(served: Served) -> None:
    put_plan(served, "status=500 path=*")
    assert served.admin("GET", "/__mock__/stats")["requests"] == []


def test_outage_scenario_answers_500_then_recovers(served: Served) -> None:
    from carctl.mock.faults import scenario_rules

    put_plan(served, *[r.to_words() for r in scenario_rules("outage")])
    with served.client() as client:
        auth = bearer(login(client))
        assert client.get("/api/1/vehicles", headers=auth).status_code == 500
        assert client.get("/status").status_code == 503
        served.clock.advance(59)
        assert client.get("/api/1/products", headers=auth).status_code == 500
        served.clock.advance(1)
        assert client.get("/api/1/vehicles", headers=auth).status_code == 200
        assert client.get("/status").text == "ok"


def test_2021_scenario_flaps_before_recovering(served: Served) -> None:
    from carctl.mock.faults import scenario_rules

    put_plan(served, *[r.to_words() for r in scenario_rules("2021-11-20")])
    with served.client() as client:
        auth = bearer(login(client))
        timeline = []
        for second in range(0, 330, 5):
            timeline.append((second, client.get("/api/1/vehicles", headers=auth).status_code))
            served.clock.advance(5)
    ups = [t for t, status in timeline if status == 200]
    downs = [t for t, status in timeline if status == 500]
    assert downs[0] == 0 and max(downs) < 300
    assert any(t < max(downs) for t in ups), "expected a false recovery before the last failure"
    assert all(status == 200 for t, status in timeline if t >= 300)

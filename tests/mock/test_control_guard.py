"""The served mock's control API answers only its own clients: not a web page's form post,
not a page that rebinds a DNS name to 127.0.0.1, not a page of another origin."""

from __future__ import annotations

import httpx

from tests.conftest import Served


def clock(served: Served) -> float:
    return float(served.admin("GET", "/__mock__/clock")["epoch"])


def test_a_text_plain_post_from_a_web_page_is_refused(served: Served) -> None:
    before = clock(served)
    with httpx.Client(base_url=served.url) as client:
        posted = client.post(
            "/__mock__/clock",
            content=b'{"advance": 3600}',
            headers={"content-type": "text/plain"},  # what a page's form or fetch may send
        )
    assert posted.status_code == 415, posted.text
    assert "application/json" in posted.json()["error_description"]
    assert clock(served) == before  # nothing was changed


def test_a_rebound_dns_name_is_refused(served: Served) -> None:
    port = served.url.rsplit(":", 1)[1]
    with httpx.Client(base_url=served.url) as client:
        shown = client.get("/__mock__/stats", headers={"host": f"rebind.example:{port}"})
        reset = client.post("/__mock__/reset", headers={"host": f"rebind.example:{port}"})
        api = client.get("/status", headers={"host": f"rebind.example:{port}"})
    assert shown.status_code == 403 and reset.status_code == 403
    assert "rebind.example" in shown.json()["error_description"]
    assert api.status_code == 200  # the vehicle API itself answers any name, as a server does


def test_a_page_of_another_origin_is_refused(served: Served) -> None:
    before = clock(served)
    with httpx.Client(base_url=served.url) as client:
        posted = client.post(
            "/__mock__/clock",
            json={"advance": 3600},
            headers={"origin": "https://evil.example"},
        )
        own = client.get("/__mock__/clock", headers={"origin": served.url})
    assert posted.status_code == 403, posted.text
    assert clock(served) == before
    assert own.status_code == 200  # its own page, were there one, may


def test_its_own_clients_still_drive_it(served: Served) -> None:
    before = clock(served)
    served.admin("POST", "/__mock__/clock", json={"advance": 60})
    served.admin("POST", "/__mock__/reset")  # no body at all: no content type needed
    assert clock(served) >= before + 60  # reset keeps the clock (docs/mock.md)

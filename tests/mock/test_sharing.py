"""Sharing a car through tesla-fleet-api's own methods, unchanged: invite, redeem, drive, revoke
(and the smaller Fleet endpoints on the way: feature flags, recent alerts, release notes).

The owner invites; a second account redeems the code and then sees the car
among its own and can read it; the owner lists the drivers, removes the
share, and the car is gone from the second account's list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.serving import carctl_serve

OWNER, PASSWORD = "owner@example.com", "owner-of-the-car-2"  # the mock's input, not a session
FRIEND, FRIENDS_PASSWORD = "friend@example.com", "borrow-the-car-1"
VIN = "5YJ3E7EA1MF000621"
SEED = f"""
[settings]
wake_delay = "0s"

[[accounts]]
email = "{OWNER}"
password = "{PASSWORD}"
full_name = "Min-jun Park"

[[accounts]]
email = "{FRIEND}"
password = "{FRIENDS_PASSWORD}"
full_name = "Ji-woo Kim"

[[vehicles]]
owner = "{OWNER}"
display_name = "Model 3"
vin = "{VIN}"
state = "online"
"""


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    seed = tmp_path_factory.mktemp("sharing") / "seed.toml"
    seed.write_text(SEED)
    with carctl_serve("--seed", str(seed)) as (url, _):
        yield url


def token(url: str, email: str, password: str) -> str:
    answer = httpx.post(
        url + "/oauth2/v3/token",
        data={
            "grant_type": "password",
            "client_id": "ownerapi",
            "email": email,
            "password": password,
        },
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_an_invitation_shares_the_car_until_the_owner_removes_the_driver(
    mock: str, tmp_path: Path
) -> None:
    import aiohttp
    from tesla_fleet_api import TeslaFleetApi
    from tesla_fleet_api.exceptions import TeslaFleetError

    owner_token, friend_token = token(mock, OWNER, PASSWORD), token(mock, FRIEND, FRIENDS_PASSWORD)

    async def story() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with aiohttp.ClientSession() as session:
            owner = TeslaFleetApi(session=session, access_token=owner_token, server=mock)
            friend = TeslaFleetApi(session=session, access_token=friend_token, server=mock)
            car, borrowed = owner.vehicles.createFleet(VIN), friend.vehicles.createFleet(VIN)
            seen["before"] = (await friend.products())["response"]
            invitation = (await car.share_invites_create())["response"]
            seen["invitation"] = invitation
            seen["listed"] = (await car.share_invites())["response"]
            seen["redeemed"] = (await borrowed.share_invites_redeem(invitation["code"]))["response"]
            seen["shared"] = (await friend.products())["response"]
            seen["drivers"] = (await car.drivers())["response"]
            try:
                await borrowed.drivers()
                seen["friend_lists_drivers"] = "allowed"
            except TeslaFleetError as exc:
                seen["friend_lists_drivers"] = exc.status
            seen["removed"] = (await car.drivers_remove(seen["drivers"][0]["user_id"]))["response"]
            seen["after"] = (await friend.products())["response"]
            again = (await car.share_invites_create())["response"]
            seen["revoked"] = (await car.share_invites_revoke(again["id_s"]))["response"]
            seen["features"] = (await owner.user.feature_config())["response"]
            seen["alerts"] = (await car.recent_alerts())["response"]
            seen["notes"] = (await car.release_notes())["response"]["release_notes"]
            seen["staged"] = (await car.release_notes(staged=True))["response"]
        return seen

    seen = asyncio.run(story())
    assert seen["before"] == []
    invitation = seen["invitation"]
    assert invitation["state"] == "pending" and invitation["vin"] == VIN
    assert invitation["share_link"] == f"https://www.tesla.com/_rs/1/{invitation['code']}"
    assert [i["id_s"] for i in seen["listed"]] == [invitation["id_s"]]
    assert seen["redeemed"]["vin"] == VIN
    assert [c["vin"] for c in seen["shared"]] == [VIN]  # the friend now sees the car
    assert [(d["driver_first_name"], d["driver_last_name"]) for d in seen["drivers"]] == [
        ("Ji-woo", "Kim")
    ]
    assert seen["friend_lists_drivers"] == 403  # the owner's alone
    assert seen["removed"] == "ok" and seen["after"] == []
    assert seen["revoked"] is True
    assert seen["features"]["signaling"]["enabled"] is True
    assert seen["alerts"] == {"recent_alerts": []}
    assert seen["notes"][0]["customer_version"] == "2021.36.5.2"  # what vehicle_data says
    assert seen["staged"] == {"release_notes": []}


def test_a_spent_revoked_or_own_invitation_is_refused(mock: str) -> None:
    owner = {"authorization": f"Bearer {token(mock, OWNER, PASSWORD)}"}
    friend = {"authorization": f"Bearer {token(mock, FRIEND, FRIENDS_PASSWORD)}"}
    with httpx.Client(base_url=mock + "/api/1") as client:
        made = client.post(f"/vehicles/{VIN}/invitations", headers=owner).json()["response"]
        own = client.post("/invitations/redeem", json={"code": made["code"]}, headers=owner)
        client.post(f"/vehicles/{VIN}/invitations/{made['id_s']}/revoke", headers=owner)
        revoked = client.post("/invitations/redeem", json={"code": made["code"]}, headers=friend)
        unknown = client.post(f"/vehicles/{VIN}/invitations/123/revoke", headers=owner)
        by_friend = client.post(f"/vehicles/{VIN}/invitations", headers=friend)
    assert own.status_code == 400 and "own invitation" in own.json()["error_description"]
    assert revoked.status_code == 404
    assert unknown.status_code == 404
    assert by_friend.status_code == 404  # not the friend's car (no share now)

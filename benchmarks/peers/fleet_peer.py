"""The same work as a carctl command, done by a tesla-fleet-api script (aiohttp).

    python fleet_peer.py climate-on|status|vent

tesla-fleet-api addresses cars by VIN and takes a bearer token; the harness
(`benchmarks/peers.py`) passes the served mock's URL, a token and the car's VIN
in PEER_URL, PEER_TOKEN and PEER_VIN.
"""

import asyncio
import os
import sys

import aiohttp
from tesla_fleet_api import TeslaFleetApi


async def main(work: str) -> None:
    async with aiohttp.ClientSession() as session:
        api = TeslaFleetApi(
            session, access_token=os.environ["PEER_TOKEN"], server=os.environ["PEER_URL"]
        )
        products = await api.products()
        vin = os.environ["PEER_VIN"]
        listed = next(p for p in products["response"] if p.get("vin") == vin)
        car = api.vehicles.createFleet(vin)
        if listed["state"] != "online":
            await car.wake_up()
        if work == "climate-on":
            await car.auto_conditioning_start()
        elif work == "vent":
            await car.window_control("vent", 0, 0)
        else:
            print((await car.vehicle_data())["response"]["charge_state"]["battery_level"])


asyncio.run(main(sys.argv[1]))

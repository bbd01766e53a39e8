"""The same work as a carctl command, done by a TeslaPy script (the Owner API peer).

    python teslapy_peer.py climate-on|status|vent

What an owner would write with TeslaPy: list the products, wake the car if it
is not online, then send the command (or read the car's data). The harness
(`benchmarks/peers.py`) points it at the served mock through PEER_URL and
PEER_CACHE (a TeslaPy cache file holding the session) and names the car in
PEER_VEHICLE.
"""

import os
import sys

import teslapy

teslapy.BASE_URL = os.environ["PEER_URL"] + "/"
with teslapy.Tesla(
    os.environ["PEER_EMAIL"],
    cache_file=os.environ["PEER_CACHE"],
    sso_base_url=os.environ["PEER_URL"] + "/",
) as tesla:
    car = next(v for v in tesla.vehicle_list() if v["display_name"] == os.environ["PEER_VEHICLE"])
    car.sync_wake_up()
    if sys.argv[1] == "climate-on":
        car.command("CLIMATE_ON")
    elif sys.argv[1] == "vent":
        car.command("WINDOW_CONTROL", command="vent", lat=0, lon=0)
    else:
        print(car.get_vehicle_data()["charge_state"]["battery_level"])

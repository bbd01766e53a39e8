"""Tesla's Vehicle Command Protocol, spoken by carctl itself.

Cars made since 2021 execute only commands signed with a key paired to them.
The layers, each usable without the next (the spec is `pkg/protocol/protocol.md`
in teslamotors/vehicle-command):

- `wire`: the few protocol-buffer rules the messages need (no generated code,
  so `carctl climate on` on other paths never imports this package);
- `messages`: the envelope (`RoutableMessage`) and session info, by field number;
- `crypto`: key agreement, metadata serialisation, HMAC tags, AES-GCM responses;
- `actions`: carctl's commands as the car's `CarServer.Action` / `VCSEC` payloads;
- `session`: one client's session with one domain of one car, independent of
  transport (Fleet API today; the spec's BLE framing could carry the same bytes);
- `store`: sessions kept in `state.db`, counters reserved atomically across processes.

The package depends on nothing of carctl's above the core, so the mock car
verifies with the same primitives. The owner's key is kept by `carctl.api.keys`;
the Fleet API transport, and the car's faults in carctl's terms, are
`carctl.vehicle.signed`.
"""

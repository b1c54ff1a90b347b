"""A reload that changes, adds or drops an st0 unit's addresses makes the device carry exactly
the configured ones, and the tunnel on that unit keeps its SAs (an address is not an SA input)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    VPN1,
    VPN1_B,
    A,
    B,
    Wire,
    config,
    make_daemon,
    seed,
    until,
)
from daemon_harness import fake_kernel as kernel


def with_family(text: str, family: dict[str, Any]) -> str:
    """`text` with st0 unit 0's `family` statements replaced."""
    data = json.loads(text)
    data["interfaces"]["st0"]["unit"]["0"]["family"] = family
    return json.dumps(data, indent=1)


def test_reload_changes_and_drops_st0_addresses(tmp_path: Path) -> None:
    async def main() -> None:
        wire = Wire()
        base = config(local=A, remote=B, vpns={"vpn1": VPN1})
        a = make_daemon(tmp_path, "a", A, base, wire)
        b = make_daemon(tmp_path, "b", B, config(local=B, remote=A, vpns={"vpn1": VPN1_B},
                                                 establish="on-traffic"), wire)  # fmt: skip
        await seed(a, A)
        await seed(b, B)
        await b.start()
        await a.start()
        await until(lambda: bool(a.store.vpns["vpn1"].children))
        ka = kernel(a)
        # an address another program put on st0.0 is not ours to remove
        await ka.add_address("st0.0", "198.51.100.1/32")
        spis = sorted(s.spi for s in await ka.list_sas())
        routes = [(r.dst, r.dev) for r in await ka.list_routes()]

        async def reload(family: dict[str, Any]) -> str:
            (tmp_path / "a.yaml").write_text(with_family(base, family))
            return str(await a.reload())

        # changed: the old address goes, the new one comes; the SAs stay
        message = await reload({"inet": {"address": "198.18.254.1/30"}})
        assert message == "reloaded: 0 added, 0 removed, 0 renegotiated, 1 kept"
        assert await ka.list_addresses("st0.0") == ["198.51.100.1/32", "198.18.254.1/30"]
        # two IPv4 addresses and an IPv6 one
        await reload({"inet": {"address": ["198.18.254.1/30", "198.18.253.1/30"]},
                      "inet6": {"address": "2001:db8:ff::1/64"}})  # fmt: skip
        assert await ka.list_addresses("st0.0") == [
            "198.51.100.1/32", "198.18.254.1/30", "198.18.253.1/30", "2001:db8:ff::1/64",
        ]  # fmt: skip
        # dropped: an unnumbered unit keeps only what was not ours
        await reload({"inet": {}})
        assert await ka.list_addresses("st0.0") == ["198.51.100.1/32"]
        assert sorted(s.spi for s in await ka.list_sas()) == spis
        assert [(r.dst, r.dev) for r in await ka.list_routes()] == routes
        assert (await ka.list_links("xfrm"))[0].up
        # back to the first file: its address returns
        (tmp_path / "a.yaml").write_text(base)
        await a.reload()
        assert await ka.list_addresses("st0.0") == ["198.51.100.1/32", "198.18.255.1/30"]
        assert sorted(s.spi for s in await ka.list_sas()) == spis
        await a.shutdown()
        await b.shutdown()
        assert await ka.list_links("xfrm") == []

    asyncio.run(main())


def test_reload_removing_a_unit_forgets_its_addresses(tmp_path: Path) -> None:
    """A unit removed and later configured again gets its addresses back, none left over."""

    async def main() -> None:
        wire = Wire()
        base = config(local=A, remote=B, vpns={"vpn1": VPN1}, establish="on-traffic")
        a = make_daemon(tmp_path, "a", A, base, wire)
        await seed(a, A)
        await a.start()
        ka = kernel(a)
        assert await ka.list_addresses("st0.0") == ["198.18.255.1/30"]
        (tmp_path / "a.yaml").write_text("{}\n")
        assert (await a.reload()).startswith("reloaded: 0 added, 1 removed")
        assert await ka.list_links("xfrm") == []
        moved = with_family(base, {"inet": {"address": "198.18.254.1/30"}})
        (tmp_path / "a.yaml").write_text(moved)
        assert (await a.reload()).startswith("reloaded: 1 added, 0 removed")
        assert await ka.list_addresses("st0.0") == ["198.18.254.1/30"]
        await a.shutdown()

    asyncio.run(main())

"""``xfrmctl kernel sa`` / ``xfrmctl kernel policy``: what the kernel holds, read over netlink.

For operators checking the kernel behind the daemon's back (like ``ip xfrm``), as a table or
JSON. Keys are never shown unless ``--show-keys`` is given.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer

from xfrmctl.netlink.codec import (
    Mark,
    Tmpl,
    XfrmPolicy,
    XfrmPolicyDump,
    XfrmSaDump,
    XfrmState,
    decode_all,
)
from xfrmctl.netlink.constants import (
    XFRM_INF,
    XFRM_STATE_AF_UNSPEC,
    XFRM_STATE_DECAP_DSCP,
    XFRM_STATE_ESN,
    XFRM_STATE_NOECN,
    XFRM_STATE_NOPMTUDISC,
    XfrmMsg,
)
from xfrmctl.netlink.errors import NetlinkError
from xfrmctl.netlink.nlsocket import XfrmSocket
from xfrmctl.netlink.port import PolicyFilter, SaFilter

kernel_app = typer.Typer(help="Show the XFRM states and policies the kernel holds.")

PROTOS = {50: "esp", 51: "ah", 108: "comp"}
MODES = {0: "transport", 1: "tunnel", 2: "ro", 3: "in_trigger", 4: "beet"}
DIRS = {0: "in", 1: "out", 2: "fwd"}
STATE_FLAGS = (
    (XFRM_STATE_NOECN, "noecn"),
    (XFRM_STATE_DECAP_DSCP, "decap-dscp"),
    (XFRM_STATE_NOPMTUDISC, "nopmtudisc"),
    (XFRM_STATE_AF_UNSPEC, "af-unspec"),
    (XFRM_STATE_ESN, "esn"),
)


def _mark(m: Mark | None) -> str:
    return "-" if m is None else f"0x{m.v:x}/0x{m.m:x}"


def _algorithms(sa: XfrmState) -> str:
    parts = []
    if sa.aead is not None:
        parts.append(f"{sa.aead.name}/{len(sa.aead.key) * 8}/{sa.aead.icv_len}")
    if sa.crypt is not None:
        parts.append(f"{sa.crypt.name}/{len(sa.crypt.key) * 8}")
    if sa.auth_trunc is not None:
        parts.append(f"{sa.auth_trunc.name}/{sa.auth_trunc.trunc_len}")
    elif sa.auth is not None:
        parts.append(sa.auth.name)
    return " ".join(parts) or "-"


def _limit(v: int) -> int | None:
    return None if v == XFRM_INF else v


def sa_record(sa: XfrmState, *, show_keys: bool = False) -> dict[str, Any]:
    """One SA as JSON-ready data (field names stable; keys only with ``show_keys``)."""

    def alg(name: str, key: bytes, **extra: int) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "key_bits": len(key) * 8, **extra}
        if show_keys:
            out["key"] = key.hex()
        return out

    rec: dict[str, Any] = {
        "src": sa.saddr,
        "dst": sa.daddr,
        "spi": f"0x{sa.spi:08x}",
        "proto": PROTOS.get(sa.proto, str(sa.proto)),
        "mode": MODES.get(sa.mode, str(sa.mode)),
        "reqid": sa.reqid,
        "if_id": sa.if_id,
        "mark": None if sa.mark is None else {"value": sa.mark.v, "mask": sa.mark.m},
        "output_mark": sa.set_mark,
        "flags": [name for bit, name in STATE_FLAGS if sa.flags & bit],
        "selector": {"src": sa.sel.src, "dst": sa.sel.dst, "proto": sa.sel.proto},
        "replay_window": (
            sa.replay_esn.replay_window if sa.replay_esn is not None else sa.replay_window
        ),
        "encap": None
        if sa.encap is None
        else {"type": sa.encap.encap_type, "sport": sa.encap.sport, "dport": sa.encap.dport},
        "lifetime": {
            "soft_bytes": _limit(sa.lft.soft_byte_limit),
            "hard_bytes": _limit(sa.lft.hard_byte_limit),
            "soft_packets": _limit(sa.lft.soft_packet_limit),
            "hard_packets": _limit(sa.lft.hard_packet_limit),
            "soft_add_seconds": sa.lft.soft_add_expires_seconds,
            "hard_add_seconds": sa.lft.hard_add_expires_seconds,
        },
        "bytes": sa.curlft.bytes,
        "packets": sa.curlft.packets,
        "add_time": sa.curlft.add_time,
        "use_time": sa.curlft.use_time,
    }
    if sa.aead is not None:
        rec["aead"] = alg(sa.aead.name, sa.aead.key, icv_bits=sa.aead.icv_len)
    if sa.crypt is not None:
        rec["enc"] = alg(sa.crypt.name, sa.crypt.key)
    if sa.auth_trunc is not None:
        rec["auth"] = alg(sa.auth_trunc.name, sa.auth_trunc.key, trunc_bits=sa.auth_trunc.trunc_len)
    elif sa.auth is not None:
        rec["auth"] = alg(sa.auth.name, sa.auth.key)
    return rec


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*r).rstrip() for r in [header, *rows]]


def render_sa_table(sas: list[XfrmState], *, show_keys: bool = False) -> str:
    header = ["Source", "Destination", "SPI", "Proto", "Mode", "Reqid", "If-id", "Mark",
              "Algorithms", "Bytes", "Packets"]  # fmt: skip
    rows = [
        [
            sa.saddr,
            sa.daddr,
            f"0x{sa.spi:08x}",
            PROTOS.get(sa.proto, str(sa.proto)),
            MODES.get(sa.mode, str(sa.mode)),
            str(sa.reqid),
            "-" if sa.if_id is None else str(sa.if_id),
            _mark(sa.mark),
            _algorithms(sa),
            str(sa.curlft.bytes),
            str(sa.curlft.packets),
        ]
        for sa in sas
    ]
    lines = _table(header, rows)
    if show_keys:
        for sa in sas:
            lines.append(f"keys of {sa.daddr} spi 0x{sa.spi:08x}:")
            for label, algo in (("aead", sa.aead), ("enc", sa.crypt), ("auth", sa.auth_trunc)):
                if algo is not None:
                    lines.append(f"  {label} {algo.name} 0x{algo.key.hex()}")
    lines.append(f"{len(sas)} security association{'s' if len(sas) != 1 else ''}")
    return "\n".join(lines)


def _tmpl(t: Tmpl) -> str:
    return (
        f"{PROTOS.get(t.proto, t.proto)} {MODES.get(t.mode, t.mode)} "
        f"{t.saddr}->{t.daddr} reqid {t.reqid}{' optional' if t.optional else ''}"
    )


def policy_record(p: XfrmPolicy) -> dict[str, Any]:
    return {
        "src": p.sel.src,
        "dst": p.sel.dst,
        "proto": p.sel.proto,
        "dir": DIRS.get(p.dir, str(p.dir)),
        "priority": p.priority,
        "action": "block" if p.action else "allow",
        "index": p.index,
        "if_id": p.if_id,
        "mark": None if p.mark is None else {"value": p.mark.v, "mask": p.mark.m},
        "templates": [
            {
                "proto": PROTOS.get(t.proto, str(t.proto)),
                "mode": MODES.get(t.mode, str(t.mode)),
                "src": t.saddr,
                "dst": t.daddr,
                "reqid": t.reqid,
                "optional": bool(t.optional),
            }
            for t in p.tmpls or ()
        ],
    }


def render_policy_table(policies: list[XfrmPolicy]) -> str:
    header = ["Source", "Destination", "Dir", "Priority", "Action", "If-id", "Mark", "Index",
              "Template"]  # fmt: skip
    rows = [
        [
            p.sel.src,
            p.sel.dst,
            DIRS.get(p.dir, str(p.dir)),
            str(p.priority),
            "block" if p.action else "allow",
            "-" if p.if_id is None else str(p.if_id),
            _mark(p.mark),
            str(p.index),
            "; ".join(_tmpl(t) for t in p.tmpls or ()) or "-",
        ]
        for p in policies
    ]
    lines = _table(header, rows)
    lines.append(f"{len(policies)} polic{'ies' if len(policies) != 1 else 'y'}")
    return "\n".join(lines)


async def read_sas(netns: str | None, f: SaFilter) -> list[XfrmState]:
    async with await XfrmSocket.open(netns=netns) as sock:
        msgs = await sock.dump_raw(XfrmMsg.XFRM_MSG_GETSA, XfrmSaDump(), what="dump SAs")
    sas: list[XfrmState] = decode_all(
        XfrmState, [m.payload for m in msgs if m.type == XfrmMsg.XFRM_MSG_NEWSA]
    )
    return [sa for sa in sas if f.accepts(sa)]


async def read_policies(netns: str | None, f: PolicyFilter) -> list[XfrmPolicy]:
    async with await XfrmSocket.open(netns=netns) as sock:
        msgs = await sock.dump_raw(
            XfrmMsg.XFRM_MSG_GETPOLICY, XfrmPolicyDump(), what="dump policies"
        )
    pols: list[XfrmPolicy] = decode_all(
        XfrmPolicy, [m.payload for m in msgs if m.type == XfrmMsg.XFRM_MSG_NEWPOLICY]
    )
    return [p for p in pols if f.accepts(p)]


def _fail(exc: BaseException) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


NETNS = typer.Option(None, "--netns", help="Read inside this network namespace.")
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
REQID = typer.Option(None, "--reqid", help="Only entries with this reqid.")
IF_ID = typer.Option(None, "--if-id", help="Only entries with this xfrm interface ID.")


@kernel_app.command("sa")
def sa_command(
    netns: str | None = NETNS,
    as_json: bool = JSON,
    show_keys: bool = typer.Option(False, "--show-keys", help="Also print key material."),
    reqid: int | None = REQID,
    if_id: int | None = IF_ID,
) -> None:
    """The kernel's XFRM states (security associations)."""
    try:
        sas = asyncio.run(read_sas(netns, SaFilter(reqid=reqid, if_id=if_id)))
    except (NetlinkError, OSError) as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps([sa_record(s, show_keys=show_keys) for s in sas], indent=2))
    else:
        typer.echo(render_sa_table(sas, show_keys=show_keys))


@kernel_app.command("policy")
def policy_command(
    netns: str | None = NETNS,
    as_json: bool = JSON,
    reqid: int | None = REQID,
    if_id: int | None = IF_ID,
) -> None:
    """The kernel's XFRM policies."""
    try:
        pols = asyncio.run(read_policies(netns, PolicyFilter(reqid=reqid, if_id=if_id)))
    except (NetlinkError, OSError) as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps([policy_record(p) for p in pols], indent=2))
    else:
        typer.echo(render_policy_table(pols))


def register(app: typer.Typer) -> None:
    app.add_typer(kernel_app, name="kernel")

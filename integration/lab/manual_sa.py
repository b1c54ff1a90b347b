"""Manual ESP SA pairs programmed with iproute2, to prove what the lab kernel can do.

These are independent of xfrmctl on purpose: they show the kernel under test offers every
algorithm and encapsulation xfrmctl relies on, so a later failure points at xfrmctl, not the lab.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from integration.lab.netns import Netns
from integration.lab.procs import ProcessRegistry
from integration.lab.topology import Lab


@dataclass(frozen=True)
class EspAlgorithm:
    """One ESP algorithm set in `ip xfrm state` syntax, with key sizes in bytes."""

    label: str
    args: tuple[str, ...]

    @staticmethod
    def aead(label: str, name: str, key_bytes: int, icv_bits: int) -> EspAlgorithm:
        return EspAlgorithm(label, ("aead", name, _key(key_bytes, 0x11), str(icv_bits)))

    @staticmethod
    def cbc(
        label: str, enc: str, enc_bytes: int, auth: str, auth_bytes: int, trunc_bits: int
    ) -> EspAlgorithm:
        return EspAlgorithm(
            label,
            (
                "enc",
                enc,
                _key(enc_bytes, 0x22),
                "auth-trunc",
                auth,
                _key(auth_bytes, 0x33),
                str(trunc_bits),
            ),
        )


def _key(n: int, seed: int) -> str:
    """A fixed, obviously-not-secret test key of n bytes."""
    return "0x" + bytes((seed + i) % 256 for i in range(n)).hex()


ALGORITHMS = (
    EspAlgorithm.aead("aes128gcm16", "rfc4106(gcm(aes))", 20, 128),
    EspAlgorithm.aead("aes256gcm16", "rfc4106(gcm(aes))", 36, 128),
    EspAlgorithm.aead("aes256gcm8", "rfc4106(gcm(aes))", 36, 64),
    EspAlgorithm.aead("chacha20poly1305", "rfc7539esp(chacha20,poly1305)", 36, 128),
    EspAlgorithm.cbc("aes128-sha256", "cbc(aes)", 16, "hmac(sha256)", 32, 128),
    EspAlgorithm.cbc("aes256-sha384", "cbc(aes)", 32, "hmac(sha384)", 48, 192),
    EspAlgorithm.cbc("aes256-sha512", "cbc(aes)", 32, "hmac(sha512)", 64, 256),
    EspAlgorithm.cbc("3des-sha1", "cbc(des3_ede)", 24, "hmac(sha1)", 20, 96),
)


@dataclass
class Pair:
    """Two gateways `a` and `b` on one outer link, a LAN address behind each."""

    a: Netns
    b: Netns
    outer_a: str = "192.0.2.1"
    outer_b: str = "192.0.2.2"
    lan_a: str = "198.18.1.1"
    lan_b: str = "198.18.2.1"


def gateway_pair(lab: Lab) -> Pair:
    pair = Pair(lab.netns("a"), lab.netns("b"))
    lab.link(pair.a, pair.b, f"{pair.outer_a}/24", f"{pair.outer_b}/24")
    pair.a.add_addr("lo", f"{pair.lan_a}/24")
    pair.b.add_addr("lo", f"{pair.lan_b}/24")
    return pair


def install_states(
    pair: Pair, alg: EspAlgorithm, *, extra: tuple[str, ...] = (), encap: bool = False
) -> None:
    """The same two SAs (a->b 0x1001, b->a 0x2002) in both namespaces."""
    for ns in (pair.a, pair.b):
        for src, dst, spi in (
            (pair.outer_a, pair.outer_b, "0x1001"),
            (pair.outer_b, pair.outer_a, "0x2002"),
        ):
            args = [
                "xfrm",
                "state",
                "add",
                "src",
                src,
                "dst",
                dst,
                "proto",
                "esp",
                "spi",
                spi,
                "reqid",
                "1",
                "mode",
                "tunnel",
                *alg.args,
                *extra,
            ]
            if encap:
                args += ["encap", "espinudp", "4500", "4500", "0.0.0.0"]
            ns.ip(*args)


def _gateways(pair: Pair) -> tuple[tuple[Netns, str, str, str, str], ...]:
    """(namespace, own outer address, peer outer address, far LAN prefix, own LAN address)."""
    return (
        (pair.a, pair.outer_a, pair.outer_b, _lan_prefix(pair.lan_b), pair.lan_a),
        (pair.b, pair.outer_b, pair.outer_a, _lan_prefix(pair.lan_a), pair.lan_b),
    )


def _lan_prefix(addr: str) -> str:
    return f"{addr.rsplit('.', 1)[0]}.0/24"


def _zero_policies(ns: Netns, me: str, peer: str, *binding: str) -> None:
    """0/0 out/in/fwd policies towards peer, bound by if_id or mark (`binding` words)."""
    for direction, src, dst in (("out", me, peer), ("in", peer, me), ("fwd", peer, me)):
        ns.ip("xfrm", "policy", "add", "src", "0.0.0.0/0", "dst", "0.0.0.0/0",
              "dir", direction, "tmpl", "src", src, "dst", dst,
              "proto", "esp", "mode", "tunnel", "reqid", "1", *binding)  # fmt: skip


def route_based(pair: Pair, alg: EspAlgorithm, *, if_id: int = 7, encap: bool = False) -> None:
    """xfrm interfaces with 0/0 policies carrying if_id; routes to the far LAN via them."""
    install_states(pair, alg, extra=("if_id", str(if_id)), encap=encap)
    for ns, me, peer, far, lan in _gateways(pair):
        ns.ip("link", "add", "st0.0", "type", "xfrm", "dev", ns.links[0], "if_id", str(if_id))
        ns.ip("link", "set", "st0.0", "up")
        _zero_policies(ns, me, peer, "if_id", str(if_id))
        ns.add_route(far, "dev", "st0.0", "src", lan)


def vti_based(pair: Pair, alg: EspAlgorithm, *, key: int = 5) -> None:
    """ip_vti tunnels (the alternative for kernels without xfrm interfaces), mark = key."""
    install_states(pair, alg)
    for ns, me, peer, far, lan in _gateways(pair):
        ns.ip("link", "add", "vti5", "type", "vti", "local", me, "remote", peer, "key", str(key))
        ns.ip("link", "set", "vti5", "up")
        ns.sysctl("net.ipv4.conf.vti5.disable_policy", "1")
        _zero_policies(ns, me, peer, "mark", str(key), "mask", "0xffffffff")
        ns.add_route(far, "dev", "vti5", "src", lan)


ENCAP_SOCKET = (
    "import socket, signal\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('0.0.0.0', 4500))\n"
    "s.setsockopt(socket.IPPROTO_UDP, 100, 2)  # UDP_ENCAP = UDP_ENCAP_ESPINUDP\n"
    "print('encap socket ready', flush=True)\n"
    "signal.pause()\n"
)


def encap_sockets(lab: Lab, pair: Pair, procs: ProcessRegistry) -> None:
    """ESP-in-UDP needs a UDP socket marked UDP_ENCAP_ESPINUDP on 4500 at each receiver."""
    for ns in (pair.a, pair.b):
        started = procs.start(
            f"encap-{ns.name}",
            ns.exec_argv([sys.executable, "-c", ENCAP_SOCKET]),
            lab.workdir / f"encap-{ns.name}.log",
        )
        _wait_line(started.log, "encap socket ready")


def _wait_line(log: Path, text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{text!r} not seen in {log}")


_CURRENT = re.compile(r"lifetime current:\s*\n\s*(\d+)\(bytes\), (\d+)\(packets\)")


def sa_packets(ns: Netns, spi: int) -> int:
    """Packets the kernel counted on the SA with this SPI (from `ip -s xfrm state`)."""
    text = ns.ip("-s", "xfrm", "state").stdout
    for block in re.split(r"^src ", text, flags=re.MULTILINE):
        if re.search(rf"spi 0x{spi:08x}\b", block):
            match = _CURRENT.search(block)
            return int(match.group(2)) if match else 0
    raise AssertionError(f"no SA with spi 0x{spi:08x} in {ns.name}")

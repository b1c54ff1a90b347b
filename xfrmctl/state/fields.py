"""The output field names table: every snapshot field, its JSON key and its Junos label.

JSON keys are the dataclass field names of :mod:`xfrmctl.state.model`; this table gives each
the label the Junos text layouts print (``label`` in detail layouts, ``column`` as a list-layout
header, ``title`` where the value heads a block). Renderers take labels only from here, and a
test checks that every model field has an entry, so ``--json`` and text carry the same fields.
A field with ``label=None`` is JSON-only: Junos has no line for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class FieldName:
    label: str | None
    column: str | None = None
    title: str | None = None


F = FieldName

OUTPUT_FIELDS: Final[Mapping[str, Mapping[str, FieldName]]] = {
    "IkeSa": {
        "index": F("Index", column="Index"),
        "gateway_name": F("Gateway Name"),
        "remote_address": F("Remote", column="Remote Address", title="IKE peer"),
        "remote_port": F("Remote"),
        "local_address": F("Local"),
        "local_port": F("Local"),
        "state": F("State", column="State"),
        "role": F("Role"),
        "initiator_cookie": F("Initiator cookie", column="Initiator cookie"),
        "responder_cookie": F("Responder cookie", column="Responder cookie"),
        "exchange_type": F("Exchange type", column="Mode"),
        "authentication_method": F("Authentication method"),
        "lifetime_remaining": F("Lifetime"),
        "lifetime": F(None),
        "peer_ike_id": F("Peer ike-id"),
        "xauth_user_name": F("Xauth user-name"),
        "xauth_assigned_ip": F("Xauth assigned IP"),
        "authentication_algorithm": F("Authentication", title="Algorithms"),
        "encryption_algorithm": F("Encryption", title="Algorithms"),
        "prf_algorithm": F("Pseudo random function", title="Algorithms"),
        "dh_group": F("Diffie-Hellman group", title="Algorithms"),
        "input_bytes": F("Input  bytes  ", title="Traffic statistics"),
        "output_bytes": F("Output bytes  ", title="Traffic statistics"),
        "input_packets": F("Input  packets", title="Traffic statistics"),
        "output_packets": F("Output packets", title="Traffic statistics"),
        "flags": F("Flags"),
        "ipsec_sas_created": F("created", title="IPSec security associations"),
        "ipsec_sas_deleted": F("deleted", title="IPSec security associations"),
        "phase2_negotiations_in_progress": F("Phase 2 negotiations in progress"),
        "negotiations": F(None),
        "local_behind_nat": F(None),
        "remote_behind_nat": F(None),
        "established_at": F(None),
    },
    "Phase2Negotiation": {
        "negotiation_type": F("Negotiation type"),
        "role": F("Role"),
        "message_id": F("Message ID"),
        "local_address": F("Local"),
        "local_port": F("Local"),
        "remote_address": F("Remote"),
        "remote_port": F("Remote"),
        "local_identity": F("Local identity"),
        "remote_identity": F("Remote identity"),
        "flags": F("Flags"),
    },
    "Tunnel": {
        "tunnel_id": F("ID", column="ID"),
        "virtual_system": F("Virtual-system", column="vsys"),
        "vpn_name": F("VPN Name"),
        "local_gateway": F("Local Gateway"),
        "remote_gateway": F("Remote Gateway", column="Gateway"),
        "local_identity": F("Local Identity"),
        "remote_identity": F("Remote Identity"),
        "version": F("Version"),
        "df_bit": F("DF-bit"),
        "bind_interface": F("Bind-interface"),
        "next_hop_tunnels": F(None),  # one line each, labelled from NhtbEntry
        "policy_name": F("Policy-name"),
        "port": F("Port", column="Port"),
        "nego_count": F("Nego#", column="Nego#"),
        "fail_count": F("Fail#", column="Fail#"),
        "def_del_count": F("Def-Del#"),
        "flag": F("Flag", column="Flag"),
        "tunnel_down_reason": F("Tunnel Down Reason", column="Tunnel Down Reason"),
        "vpn_monitoring": F("VPN Monitoring", column="Mon"),
        "sas": F(None),
        "statistics": F(None, title="ESP Statistics"),
    },
    "IpsecSa": {
        "direction": F("Direction"),
        "spi": F("SPI", column="SPI"),
        "aux_spi": F("AUX-SPI"),
        "algorithm": F(None, column="Algorithm"),
        "hard_lifetime_remaining": F("Hard lifetime", column="Life:sec/kb"),
        "soft_lifetime_remaining": F("Soft lifetime"),
        "lifesize_remaining": F("Lifesize Remaining", column="Life:sec/kb"),
        "mode": F("Mode"),
        "type": F("Type"),
        "state": F("State"),
        "protocol": F("Protocol"),
        "authentication": F("Authentication"),
        "encryption": F("Encryption"),
        "anti_replay": F("Anti-replay service"),
        "replay_window_size": F("Replay window size"),
    },
    "IpsecStatistics": {
        "encrypted_bytes": F("Encrypted bytes", title="ESP Statistics"),
        "decrypted_bytes": F("Decrypted bytes", title="ESP Statistics"),
        "encrypted_packets": F("Encrypted packets", title="ESP Statistics"),
        "decrypted_packets": F("Decrypted packets", title="ESP Statistics"),
        "ah_input_bytes": F("Input bytes", title="AH Statistics"),
        "ah_output_bytes": F("Output bytes", title="AH Statistics"),
        "ah_input_packets": F("Input packets", title="AH Statistics"),
        "ah_output_packets": F("Output packets", title="AH Statistics"),
        "ah_authentication_failures": F("AH authentication failures", title="Errors"),
        "replay_errors": F("Replay errors", title="Errors"),
        "esp_authentication_failures": F("ESP authentication failures", title="Errors"),
        "esp_decryption_failures": F("ESP decryption failures", title="Errors"),
        "bad_headers": F("Bad headers", title="Errors"),
        "bad_trailers": F("Bad trailers", title="Errors"),
    },
    "InactiveTunnel": {
        "tunnel_id": F("ID", column="ID"),
        "virtual_system": F("Virtual-system"),
        "vpn_name": F("VPN Name", column="VPN Name"),
        "local_gateway": F("Local Gateway"),
        "remote_gateway": F("Remote Gateway", column="Gateway"),
        "port": F("Port", column="Port"),
        "version": F("Version"),
        "bind_interface": F("Bind-interface"),
        "nego_count": F("Nego#", column="Nego#"),
        "fail_count": F("Fail#", column="Fail#"),
        "flag": F("Flag", column="Flag"),
        "establish_immediately": F("Establish tunnels"),
        "tunnel_down_reason": F("Tunnel Down Reason", column="Tunnel Down Reason"),
        "last_attempt": F("Last attempt", column="Last attempt"),
    },
    "NhtbEntry": {
        "next_hop": F("Next-hop gateway", column="Next-hop gateway"),
        "interface": F("Interface", column="interface"),
        "vpn_name": F("IPSec VPN name", column="IPSec VPN name"),
        "flag": F("Flag", column="Flag"),
        "tunnel_id": F(None),
    },
    "IkeSaView": {
        "ike_security_associations": F(None),
    },
    "IpsecSaView": {
        "total_active_tunnels": F("Total active tunnels"),
        "tunnels": F(None),
    },
    "IpsecStatisticsView": {
        "virtual_system": F("Virtual system"),
        "statistics": F(None),
    },
    "InactiveTunnelsView": {
        "total_inactive_tunnels": F("Total inactive tunnels"),
        "total_inactive_tunnels_immediately": F(
            "Total inactive tunnels with establish immediately"
        ),
        "tunnels": F(None),
    },
    "NextHopTunnelsView": {
        "next_hop_tunnels": F(None),
    },
}


def labels(record: str) -> dict[str, str]:
    """Detail-layout labels of one record type (JSON-only fields left out)."""
    return {k: v.label for k, v in OUTPUT_FIELDS[record].items() if v.label is not None}


def columns(record: str) -> dict[str, str]:
    """List-layout column headers of one record type."""
    return {k: v.column for k, v in OUTPUT_FIELDS[record].items() if v.column is not None}


def titles(record: str) -> dict[str, str]:
    """Block titles (``Algorithms``, ``ESP Statistics``...) of one record type."""
    return {k: v.title for k, v in OUTPUT_FIELDS[record].items() if v.title is not None}

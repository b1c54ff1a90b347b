"""IKE keying: sans-IO IKEv2/IKEv1 engines, the wire codec, the algorithm table and crypto.

Codec and crypto modules (no I/O, no clock, randomness injected as ``rng(n) -> bytes``):

* ``constants`` IANA numbers; ``errors`` the only exceptions decoders raise
* ``transforms`` the one algorithm table (IKE ids, strongSwan tokens, Junos keywords, kernel names)
* ``dh``, ``prf``, ``cipher``, ``keys`` key exchange, prf/prf+, SK ciphers, SK_* and child keys
* ``payloads``, ``message`` payload and message encode/decode; ``sk`` SK protection
* ``fragments`` RFC 7383 fragmentation and reassembly
* ``auth`` AUTH payload (PSK and signatures); ``certs`` X.509 chains, CRLs, identities
* ``ikev2`` the IKEv2 state machine built on the above
"""

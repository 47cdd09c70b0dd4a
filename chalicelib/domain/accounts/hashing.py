"""How secrets become storable: one-way hashes only (login codes, tokens, keys, emails, IPs)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_hash(email: str) -> str:
    """Lookup key for an address (the address itself lives only on the user item)."""
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()


def token_hash(token: str) -> str:
    """Session tokens and API key secrets carry 256 bits of randomness: a plain SHA-256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(key: str, value: str) -> str:
    """HMAC-SHA256 for low-entropy values (login codes, IPs) that a plain hash would not hide."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def network_of(ip: str) -> str:
    """IPv6 clients rotate addresses inside their /64, so the /64 is the unit; IPv4 stays whole."""
    address = ipaddress.ip_address(ip.strip())
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)

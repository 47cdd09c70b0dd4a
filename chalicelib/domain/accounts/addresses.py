"""Which e-mail addresses the service accepts: mailboxes a mail server takes (RFC 5321), in ASCII.

The looser "something@something.something" let through addresses SES refuses (`<@x.example`,
`,@x.example`, non-ASCII local parts): the send failed after the records were written.
"""

from __future__ import annotations

import re

MAX_LENGTH = 254
MAX_LOCAL_LENGTH = 64
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+{_LABEL}")


def address_problem(address: str) -> str | None:
    """Why `address` is not an address we can mail, or None when it is."""
    if len(address) > MAX_LENGTH:
        return f"An e-mail address has at most {MAX_LENGTH} characters."
    if not address.isascii():
        return "Use an e-mail address in plain ASCII (an international domain in its xn-- form)."
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "An e-mail address looks like name@example.com."
    if len(local) > MAX_LOCAL_LENGTH or not _LOCAL.fullmatch(local):
        return "The part before @ has characters a mail server refuses."
    if not _DOMAIN.fullmatch(domain) or domain.rsplit(".", 1)[1].isdigit():
        return "The part after @ is not a domain name."
    return None

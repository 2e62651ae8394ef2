"""Password hashing with scrypt (standard library), in Werkzeug's string format
``scrypt:N:r:p$salt$hexdigest`` so hashes stay readable by either."""

from __future__ import annotations

import hashlib
import hmac
import secrets

N, R, P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024


def hash_password(password: str) -> str:
    salt = secrets.token_urlsafe(12)
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=N, r=R, p=P,
                            maxmem=_MAXMEM)
    return f"scrypt:{N}:{R}:{P}${salt}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    try:
        method, salt, hexdigest = stored.split("$", 2)
        name, n, r, p = method.split(":")
        if name != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=int(n), r=int(r),
                                p=int(p), maxmem=_MAXMEM)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), hexdigest)

"""Password hashing with scrypt (standard library), in Werkzeug's string format
``scrypt:N:r:p$salt$hexdigest`` so hashes stay readable by either."""

from __future__ import annotations

import hashlib
import hmac
import secrets

N, R, P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024


def hash_password(password: str) -> str:
    """A new salted scrypt hash of ``password`` (about 0.15 s of CPU and 32 MiB, on purpose).

    Parameters
    ----------
    password : str
        As typed.

    Returns
    -------
    str
        ``scrypt:32768:8:1$<salt>$<hex digest>``: the cost parameters travel with the hash,
        so raising :data:`N` later still checks old hashes.
    """
    salt = secrets.token_urlsafe(12)
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=N, r=R, p=P,
                            maxmem=_MAXMEM)
    return f"scrypt:{N}:{R}:{P}${salt}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches a hash from :func:`hash_password`.

    Parameters
    ----------
    stored : str
        ``scrypt:N:r:p$salt$hexdigest``.
    password : str
        As typed.

    Returns
    -------
    bool
        False also for a hash that is malformed or of another method; the digests are
        compared in constant time.

    Examples
    --------
    >>> check_password("pbkdf2:sha256:600000$salt$00", "anything")
    False
    """
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

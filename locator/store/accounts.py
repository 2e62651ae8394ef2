"""Staff accounts: created on the command line (no open sign-up), two roles.

* ``admin`` — everything, every district;
* ``district`` — one district's stations and reports only.

Passwords are hashed with scrypt (locator/store/passwords.py). Failed sign-ins are counted
in the database (locator/store/throttle.py) per account *and source address* and per source
address: after :data:`PAIR_RULE`'s free failures that account may not be tried from that
address for a while (30 s, doubling up to 15 min), after :data:`SOURCE_RULE`'s that address
may not try any account. Nothing locks the account itself, so a stranger cannot keep its
owner out, and an unknown username is throttled exactly like an existing one, so the
answers never tell whether a name exists.
``session_version`` is part of every session's identity, so bumping it (logout, disabling,
a new password) revokes every session of that account on the server, in every worker.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re

from sqlalchemy import select

from locator.errors import BadRequest, LocatorError
from locator.store.models import User
from locator.store.passwords import check_password, hash_password
from locator.store.store import Store
from locator.store.throttle import Rule, clear, key_of, record_failure, wait_s
from locator.vocabulary import ROLES

#: One account tried from one source: 5 free failures, then 30 s, 60 s, … up to 15 min.
PAIR_RULE = Rule(free=5)
#: One source trying any accounts: 20 free failures, then the same growing wait.
SOURCE_RULE = Rule(free=20)
MIN_PASSWORD = 10


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("no such user")


USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")


class TooManyAttempts(LocatorError):
    """Sign-in refused for a while from this source; says how long, in whole minutes.

    HTTP 429, code ``too_many_attempts``.

    Parameters
    ----------
    wait_s : float
        Seconds still to wait; the message rounds up to whole minutes (at least 1).

    Examples
    --------
    >>> TooManyAttempts(61).message_for("en")
    'Too many sign-in attempts: try again in 2 min.'
    """

    status = 429
    code = "too_many_attempts"

    def __init__(self, wait_s: float):
        minutes = max(1, math.ceil(wait_s / 60))
        super().__init__(f"登录尝试太频繁，请 {minutes} 分钟后再试。",
                         message_en=f"Too many sign-in attempts: try again in {minutes} min.")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_user(store: Store, username: str, password: str, role: str,
                district_code: str | None, districts: tuple[str, ...]) -> User:
    """Create an account; ``districts`` are the valid district codes.

    Parameters
    ----------
    store : Store
        Where the account is written (one transaction).
    username : str
        3-40 characters of ``A-Z a-z 0-9 _ . -``.
    password : str
        At least :data:`MIN_PASSWORD` characters; stored only as a scrypt hash.
    role : {"admin", "district"}
        See the module docstring.
    district_code : str or None
        6-digit adcode of the account's union district; required for ``district``,
        ignored (stored as ``None``) for ``admin``.
    districts : tuple of str
        The valid district codes, e.g. the keys of
        :meth:`locator.geo.regions.Regions.district_names`.

    Returns
    -------
    User
        The new account, active, ``session_version`` 1, ``created_at`` now (UTC).

    Raises
    ------
    locator.errors.BadRequest
        With code ``bad_username``, ``weak_password``, ``bad_role``, ``bad_district`` or
        ``user_exists``; nothing is written.
    """
    if not USERNAME.match(username):
        raise BadRequest("用户名须为 3–40 位字母、数字或 _ . -。", code="bad_username")
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"密码至少 {MIN_PASSWORD} 位。", code="weak_password")
    if role not in ROLES:
        raise BadRequest("角色只能是 admin 或 district。", code="bad_role")
    if role == "district" and district_code not in districts:
        raise BadRequest("district 账号须指定一个有效的地区代码（如 130100）。",
                         code="bad_district")
    with store.write() as s:
        if s.scalar(select(User).where(User.username == username)) is not None:
            raise BadRequest(f"用户 {username} 已存在。", code="user_exists")
        user = User(username=username, password_hash=hash_password(password),
                    role=role, district_code=district_code if role == "district" else None,
                    active=True, session_version=1, created_at=_now())
        s.add(user)
    return user


def authenticate(store: Store, username: str, password: str, *, source: str) -> User | None:
    """The user when the password is right, else None; throttled per account and source.

    Parameters
    ----------
    store : Store
        Holds the accounts and the throttle counts.
    username, password : str
        As typed.
    source : str
        An opaque, stable token for where the attempt comes from (the web layer passes a
        keyed hash of the client address); never stored as given.

    Returns
    -------
    User or None
        The active account on success (its ``last_login_at`` set to now, UTC, and this
        source's failures for it forgotten); ``None`` for a wrong password, an unknown
        name or a disabled account, counted as a failure of this account from this source
        and of this source.

    Raises
    ------
    TooManyAttempts
        When this account from this source, or this source, must wait. Raised before the
        password is looked at, and the same for unknown and existing names.
    """
    now = _now()
    keys = ((key_of("sign-in", username.casefold(), source), PAIR_RULE),
            (key_of("sign-in source", source), SOURCE_RULE))
    wait = max(wait_s(store, key, rule, now) for key, rule in keys)
    if wait > 0:
        raise TooManyAttempts(wait)
    with store.write() as s:
        user = s.scalar(select(User).where(User.username == username))
        # The same scrypt work whether or not the name exists.
        right = check_password(user.password_hash if user else _dummy_hash(), password)
        if user is not None and user.active and right:
            user.last_login_at = now
        else:
            user = None
    if user is None:
        for key, rule in keys:
            record_failure(store, key, rule, now)
        return None
    clear(store, keys[0][0])
    return user


def load_session_user(store: Store, user_id: int, session_version: int) -> User | None:
    """The user behind a session, or None when the session was revoked.

    Parameters
    ----------
    store : Store
        Holds the accounts.
    user_id : int
        ``User.id`` as the session recorded it.
    session_version : int
        ``User.session_version`` as the session recorded it.

    Returns
    -------
    User or None
        Detached from its session (readable, not to be written back); ``None`` when the
        account is gone or disabled, or its ``session_version`` has moved on.
    """
    with store.read() as s:
        user = s.get(User, user_id)
        if user is None or not user.active or user.session_version != session_version:
            return None
        s.expunge(user)
        return user


def revoke_sessions(store: Store, user_id: int) -> None:
    """End every session of an account, in every worker (sign-out, a new password).

    Parameters
    ----------
    store : Store
        Holds the accounts.
    user_id : int
        ``User.id``; an unknown id does nothing.
    """
    with store.write() as s:
        user = s.get(User, user_id)
        if user is not None:
            user.session_version += 1


def set_active(store: Store, username: str, active: bool) -> None:
    """Enable or disable an account; either way its sessions end.

    Parameters
    ----------
    store : Store
        Holds the accounts.
    username : str
        Exactly as stored.
    active : bool
        False stops the account signing in; the account itself is kept.

    Raises
    ------
    locator.errors.BadRequest
        With code ``no_such_user``.
    """
    with store.write() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise BadRequest(f"没有用户 {username}。", code="no_such_user")
        user.active = active
        user.session_version += 1


def list_users(store: Store) -> list[User]:
    """Every account, by username.

    Returns
    -------
    list of User
        Detached from their session: readable, not to be written back.
    """
    with store.read() as s:
        users = list(s.scalars(select(User).order_by(User.username)))
        for u in users:
            s.expunge(u)
        return users

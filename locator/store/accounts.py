"""Staff accounts: created on the command line (no open sign-up), two roles.

* ``admin`` — everything, every district;
* ``district`` — one district's stations and reports only.

Passwords are hashed with scrypt (locator/store/passwords.py). Failed logins are counted per
account: after :data:`MAX_FAILURES` the account is locked for :data:`LOCK_MINUTES`.
``session_version`` is part of every session's identity, so bumping it (logout, disabling,
a new password) revokes every session of that account on the server, in every worker.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from sqlalchemy import select

from locator.errors import BadRequest, LocatorError
from locator.store.models import User
from locator.store.passwords import check_password, hash_password
from locator.store.store import Store
from locator.vocabulary import ROLES

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("no such user")


USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")


class LoginLocked(LocatorError):
    status = 429
    code = "login_locked"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_user(store: Store, username: str, password: str, role: str,
                district_code: str | None, districts: tuple[str, ...]) -> User:
    """Create an account; ``districts`` are the valid district codes."""
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
                    active=True, session_version=1, failed_logins=0, created_at=_now())
        s.add(user)
    return user


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user when the password is right; counts failures and locks the account."""
    now = _now()
    with store.write() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            check_password(_dummy_hash(), password)  # the same work either way
            return None
        if user.locked_until is not None and user.locked_until > now:
            raise LoginLocked(f"登录失败次数过多，请 {LOCK_MINUTES} 分钟后再试。")
        if not user.active or not check_password(user.password_hash, password):
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
                user.failed_logins = 0
            return None
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        return user


def load_session_user(store: Store, user_id: int, session_version: int) -> User | None:
    """The user behind a session, or None when the session was revoked."""
    with store.read() as s:
        user = s.get(User, user_id)
        if user is None or not user.active or user.session_version != session_version:
            return None
        s.expunge(user)
        return user


def revoke_sessions(store: Store, user_id: int) -> None:
    with store.write() as s:
        user = s.get(User, user_id)
        if user is not None:
            user.session_version += 1


def set_active(store: Store, username: str, active: bool) -> None:
    with store.write() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise BadRequest(f"没有用户 {username}。", code="no_such_user")
        user.active = active
        user.session_version += 1


def list_users(store: Store) -> list[User]:
    with store.read() as s:
        users = list(s.scalars(select(User).order_by(User.username)))
        for u in users:
            s.expunge(u)
        return users

"""Failed attempts counted in the database, so every worker and server sees the same count.

A *key* names what is being throttled, for example one account tried from one address, or
one address trying any account. The first :attr:`Rule.free` failures of a key cost nothing;
after that the key must wait a delay that doubles with every further failure, up to
:attr:`Rule.max_wait_s`. The count is forgotten after :attr:`Rule.forget_s` without a
failure. There is no hard lock: the delay is short at first, and a key stands only for
the party that failed, so a stranger cannot stop someone else signing in.

Keys are stored as SHA-256 digests of the parts the caller gives: callers pass addresses
already keyed (HMAC with the app's secret, see ``locator.web.staff``), so the table holds
neither usernames nor addresses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, select

from locator.store.models import Throttle
from locator.store.store import Store

__all__ = ["KEEP_S", "Rule", "attempt", "clear", "key_of", "record_failure", "wait_s"]

#: Rows untouched this long are deleted whenever a failure is recorded. Rules share the
#: table and their keys do not say which rule they belong to, so no rule's own (shorter)
#: ``forget_s`` may clear it: a 10-minute rule must not wipe a day's sign-in failures.
KEEP_S = 24 * 3600.0


@dataclass(frozen=True)
class Rule:
    """How many failures are free, and how the wait grows after them (seconds).

    Attributes
    ----------
    free : int
        Failures that cost no wait.
    first_wait_s : float
        Seconds to wait after the first failure beyond ``free`` (default 30); doubles
        with each further failure.
    max_wait_s : float
        Seconds the wait never exceeds (default 15 min).
    forget_s : float
        Seconds without a failure after which the count starts again (default 24 h).
    """

    free: int
    first_wait_s: float = 30.0
    max_wait_s: float = 15 * 60.0
    forget_s: float = 24 * 3600.0

    def wait_after(self, failures: int) -> float:
        """The wait after ``failures`` failures: 0 while free, then 30 s, 60 s, … ≤ max.

        Parameters
        ----------
        failures : int
            Failures counted so far.

        Returns
        -------
        float
            Seconds, counted from the latest failure.

        Examples
        --------
        >>> [Rule(free=2).wait_after(n) for n in range(1, 6)]
        [0.0, 0.0, 30.0, 60.0, 120.0]
        """
        if failures <= self.free:
            return 0.0
        return min(self.max_wait_s, self.first_wait_s * 2.0 ** (failures - self.free - 1))


def key_of(*parts: str) -> str:
    """The stored key for ``parts`` (a SHA-256 hex digest; the parts are not kept).

    Parameters
    ----------
    *parts : str
        What is throttled, e.g. ``("sign-in", username, source)``; joined with NUL, so
        ``("ab", "c")`` and ``("a", "bc")`` give different keys.

    Returns
    -------
    str
        64 lowercase hex digits.

    Examples
    --------
    >>> len(key_of("sign-in", "alice", "source")), key_of("ab", "c") == key_of("a", "bc")
    (64, False)
    """
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _failures(store: Store, key: str, rule: Rule, now: dt.datetime) -> tuple[int, dt.datetime]:
    with store.read() as s:
        row = s.scalar(select(Throttle).where(Throttle.key == key))
        if row is None or (now - row.last_failure_at).total_seconds() > rule.forget_s:
            return 0, now
        return row.failures, row.last_failure_at


def wait_s(store: Store, key: str, rule: Rule, now: dt.datetime) -> float:
    """Seconds ``key`` must still wait before its next attempt (0 when it may go on).

    Parameters
    ----------
    store : Store
        Holds the counts.
    key : str
        From :func:`key_of`.
    rule : Rule
        The rule the key is throttled by.
    now : datetime.datetime
        The current time, a UTC aware datetime (any aware datetime works).

    Returns
    -------
    float
        Seconds, 0.0 or more.

    Examples
    --------
    >>> from locator.store.store import Store
    >>> store = Store("sqlite://")
    >>> store.upgrade()
    >>> key, rule = key_of("sign-in", "alice", "source"), Rule(free=1)
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> record_failure(store, key, rule, t0)
    >>> record_failure(store, key, rule, t0)
    >>> wait_s(store, key, rule, t0 + dt.timedelta(seconds=10))
    20.0
    """
    failures, last = _failures(store, key, rule, now)
    left = rule.wait_after(failures) - (now - last).total_seconds()
    return max(0.0, left)


def record_failure(store: Store, key: str, rule: Rule, now: dt.datetime) -> None:
    """Count one failure of ``key`` (an atomic upsert: concurrent workers add up).

    A count idle for longer than ``rule.forget_s`` restarts at 1, and rows of every key
    idle that long are deleted. Never bumps ``data_version``.

    Parameters
    ----------
    store : Store
        Holds the counts.
    key : str
        From :func:`key_of`.
    rule : Rule
        Gives ``forget_s``.
    now : datetime.datetime
        The time of the failure, a UTC aware datetime.
    """
    table = Throttle.__table__
    stale = now - dt.timedelta(seconds=rule.forget_s)
    stmt = store.insert(table).values(key=key, failures=1, last_failure_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={
        "failures": _restart_if_stale(table, stale),
        "last_failure_at": stmt.excluded.last_failure_at})
    expired = now - dt.timedelta(seconds=max(rule.forget_s, KEEP_S))
    # Core on a plain connection: not a Versioned model, so data_version stays put.
    with store.engine.begin() as conn:
        conn.execute(stmt)
        conn.execute(delete(table).where(table.c.last_failure_at < expired))


def attempt(store: Store, key: str, rule: Rule, now: dt.datetime) -> float:
    """Count one attempt of ``key`` and return the seconds it must wait (0: go ahead).

    For limits on attempts that succeed too (five problem reports, then a pause): the count
    goes up first, atomically, so that workers racing for the last free attempt cannot
    both get it. An attempt refused still counts, so the pause runs from the last one.
    """
    record_failure(store, key, rule, now)
    return wait_s(store, key, rule, now)


def _restart_if_stale(table, stale: dt.datetime):
    from sqlalchemy import case

    return case((table.c.last_failure_at < stale, 1), else_=table.c.failures + 1)


def clear(store: Store, key: str) -> None:
    """Forget ``key``'s failures (after a success).

    Parameters
    ----------
    store : Store
        Holds the counts.
    key : str
        From :func:`key_of`; an unknown key does nothing.
    """
    with store.engine.begin() as conn:
        conn.execute(delete(Throttle.__table__).where(Throttle.__table__.c.key == key))

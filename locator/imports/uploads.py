"""The holding area for uploaded station files between check, preview and publish.

An upload is kept as two files in one folder (the Flask instance folder's ``uploads/``):
``<token>.bin`` (the bytes) and ``<token>.json`` (owner, the user's file name, datum,
SHA-256, time). The token is server-generated (``secrets.token_urlsafe``), checked
against a strict pattern before it becomes part of a path, and bound to the account that
uploaded the file: anyone else asking for it gets the same "not found" as for a token
that never existed. The user's file name is metadata only, never a path
(reliability.md §2A rows 4 and 7).

Uploads expire after :data:`MAX_AGE_S`; expired ones are removed opportunistically on
every upload, and each account keeps at most :data:`MAX_PER_OWNER` (the oldest go first).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from locator.errors import NotFound
from locator.geo.datum import DATUMS

__all__ = ["MAX_AGE_S", "MAX_PER_OWNER", "Upload", "UploadArea", "UploadExpired"]

#: How long an upload is kept, in seconds (one day).
MAX_AGE_S = 24 * 3600
#: Most uploads one account keeps at a time.
MAX_PER_OWNER = 20
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


class UploadExpired(NotFound):
    """(404) No such upload, someone else's, or older than a day: upload again."""

    code = "upload_not_found"
    message = "这次上传不存在或已过期（上传的文件保留一天），请重新上传。"
    message_en = "This upload does not exist or has expired (files are kept for a day); " \
                 "please upload the file again."


@dataclass(frozen=True)
class Upload:
    """One held upload.

    Attributes
    ----------
    token : str
        Server-generated, 32 URL-safe characters.
    owner_id : int
        The account that uploaded it (only it may read it).
    source_name : str
        The user's file name, as metadata (:func:`clean_source_name`).
    datum : str
        The declared datum of its coordinates.
    sha256 : str
        Of ``data`` (hex).
    size : int
        Bytes.
    created_at : float
        Seconds since the epoch (UTC).
    data : bytes
        The file.
    """

    token: str
    owner_id: int
    source_name: str
    datum: str
    sha256: str
    size: int
    created_at: float
    data: bytes


def clean_source_name(name: str | None) -> str:
    """The user's file name as safe metadata.

    Parameters
    ----------
    name : str or None
        As the browser sent it (it may hold a path).

    Returns
    -------
    str
        The last path part, without control or format characters, at most 200
        characters.

    Examples
    --------
    >>> clean_source_name("C:\\\\Users\\\\张\\\\驿站名单.xlsx")
    '驿站名单.xlsx'
    >>> clean_source_name("a\\u202egpj.csv\\r\\n")
    'agpj.csv'
    """
    text = re.split(r"[\\/]", name or "")[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return text.strip()[:200]


class UploadArea:
    """Uploaded files kept under ``root`` for one day, each bound to its uploader.

    Parameters
    ----------
    root : path
        A private folder (created when missing, mode 700).
    max_age_s : float
        Seconds an upload is kept.
    """

    def __init__(self, root: str | Path, *, max_age_s: float = MAX_AGE_S):
        self.root = Path(root)
        self.max_age_s = max_age_s

    def _path(self, token: str, suffix: str) -> Path:
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise UploadExpired()
        return self.root / f"{token}{suffix}"

    def put(self, data: bytes, *, owner_id: int, source_name: str, datum: str,
            now: float | None = None) -> str:
        """Keep ``data`` for ``owner_id``.

        Expired uploads (of anyone) and the owner's uploads beyond
        :data:`MAX_PER_OWNER` are removed first.

        Parameters
        ----------
        data : bytes
        owner_id : int
        source_name : str
            The user's file name (metadata only).
        datum : str
            The declared datum: ``wgs84``, ``gcj02`` or ``bd09``.
        now : float, optional
            Seconds since the epoch (default: now).

        Returns
        -------
        str
            The new upload's token.

        Raises
        ------
        BadDatum
            An unknown datum.
        """
        if datum not in DATUMS:
            from locator.errors import BadDatum

            raise BadDatum(datum)
        now = time.time() if now is None else now
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.sweep(now=now, owner_id=owner_id, keep=MAX_PER_OWNER - 1)
        token = secrets.token_urlsafe(24)
        meta = {"owner_id": int(owner_id), "source_name": clean_source_name(source_name),
                "datum": datum, "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data), "created_at": now}
        _write(self._path(token, ".bin"), data)
        _write(self._path(token, ".json"), json.dumps(meta, ensure_ascii=False).encode())
        return token

    def get(self, token: str, *, owner_id: int, now: float | None = None) -> Upload:
        """The upload ``token`` of ``owner_id``.

        Parameters
        ----------
        token : str
            From :meth:`put` (anything else is "not found").
        owner_id : int
        now : float, optional
            Seconds since the epoch (default: now).

        Returns
        -------
        Upload

        Raises
        ------
        UploadExpired
            (404) No such upload, someone else's, or older than ``max_age_s``.
        """
        meta = self._meta(token)
        now = time.time() if now is None else now
        if meta is None or meta["owner_id"] != owner_id:
            raise UploadExpired()
        if now - meta["created_at"] > self.max_age_s:
            self._remove(token)
            raise UploadExpired()
        try:
            data = self._path(token, ".bin").read_bytes()
        except OSError:
            raise UploadExpired() from None
        return Upload(token, meta["owner_id"], meta["source_name"], meta["datum"],
                      meta["sha256"], meta["size"], meta["created_at"], data)

    def discard(self, token: str, *, owner_id: int) -> None:
        """Remove the upload ``token`` of ``owner_id`` (after it was published).

        Parameters
        ----------
        token : str
        owner_id : int
            Someone else's upload is left alone.
        """
        meta = self._meta(token)
        if meta is not None and meta["owner_id"] == owner_id:
            self._remove(token)

    def sweep(self, *, now: float | None = None, owner_id: int | None = None,
              keep: int = MAX_PER_OWNER) -> int:
        """Remove expired uploads, stray files, and ``owner_id``'s uploads beyond the
        newest ``keep``.

        Parameters
        ----------
        now : float, optional
            Seconds since the epoch (default: now).
        owner_id : int, optional
            Whose uploads are capped at ``keep``.
        keep : int

        Returns
        -------
        int
            How many uploads were removed.
        """
        if not self.root.is_dir():
            return 0
        now = time.time() if now is None else now
        removed = 0
        mine: list[tuple[float, str]] = []
        for path in self.root.iterdir():
            token, suffix = path.stem, path.suffix
            if suffix == ".json" and _TOKEN.fullmatch(token):
                meta = self._meta(token)
                if meta is None or now - meta["created_at"] > self.max_age_s:
                    self._remove(token)
                    removed += 1
                elif meta["owner_id"] == owner_id:
                    mine.append((meta["created_at"], token))
            elif not (suffix == ".bin" and (self.root / f"{token}.json").exists()):
                # half-written or foreign files: remove once they are old enough
                try:
                    if now - path.stat().st_mtime > self.max_age_s and path.is_file():
                        path.unlink()
                except OSError:
                    pass
        for _created, token in sorted(mine)[:max(0, len(mine) - keep)]:
            self._remove(token)
            removed += 1
        return removed

    def _meta(self, token: str) -> dict | None:
        try:
            meta = json.loads(self._path(token, ".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or not {"owner_id", "created_at"} <= meta.keys():
            return None
        return meta

    def _remove(self, token: str) -> None:
        for suffix in (".json", ".bin"):
            try:
                self._path(token, suffix).unlink()
            except FileNotFoundError:
                pass


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

"""Zip archives from uploads (zipped Shapefile; XLSX is a zip too), checked before unpacking.

:func:`check_zip` reads only the archive's directory and refuses it on member count,
declared total and per-member size, compression ratio, unsafe names (``..``, absolute,
drive letters), symlinks, duplicate names and encryption (reliability.md §2A-§2B);
:func:`read_member` then unpacks one member with a byte counter, since the directory may
lie (F14).
"""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import PurePosixPath, PureWindowsPath

from locator.errors import UploadRefused
from locator.imports.table import Limits, MiB, unreadable, unsupported

__all__ = ["RATIO_CHECK_MIN_BYTES", "check_zip", "open_zip", "read_member"]

#: Members smaller than this are not ratio-checked (tiny files compress absurdly well).
RATIO_CHECK_MIN_BYTES = MiB


def open_zip(data: bytes) -> zipfile.ZipFile:
    """Open an uploaded archive from its bytes (nothing is unpacked).

    Parameters
    ----------
    data : bytes

    Returns
    -------
    zipfile.ZipFile
        To be checked with :func:`check_zip` before any member is read.

    Raises
    ------
    UploadRefused
        ``unreadable_file`` when it is not a readable zip.
    """
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as e:
        raise unreadable("压缩文件已损坏，无法打开。", "The zip archive is damaged.") from e


def _unsafe_name(name: str) -> bool:
    if not name or "\x00" in name:
        return True
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.drive or ".." in pure.parts:
            return True
    return False


def _check_member(info: zipfile.ZipInfo) -> None:
    """Refuse one member for its name or kind: zip slip, symlink, encryption."""
    if _unsafe_name(info.filename):
        raise unsupported(
            "压缩包里有不安全的路径（如 ../ 或绝对路径），已拒绝。",
            "The archive holds an unsafe path (such as ../ or an absolute path); refused.",
        )
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise unsupported("压缩包里有符号链接，已拒绝。",
                          "The archive holds a symbolic link; refused.")
    if info.flag_bits & 0x1:
        raise unsupported("压缩包有密码保护，无法读取。",
                          "The archive is encrypted; it cannot be read.")


def check_zip(zf: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    """Check an archive's directory before anything is unpacked; returns its members.

    Parameters
    ----------
    zf : zipfile.ZipFile
        From :func:`open_zip`.
    limits : Limits
        ``zip_max_members``, ``zip_max_bytes``, ``zip_max_member_bytes``,
        ``zip_max_ratio``.

    Returns
    -------
    list of zipfile.ZipInfo
        Every member, in the archive's order.

    Raises
    ------
    UploadRefused
        ``unsupported_file``: too many members, a declared total or member size above the
        limits, a member larger than :data:`RATIO_CHECK_MIN_BYTES` compressed more than
        ``zip_max_ratio`` : 1, unsafe names (zip slip), symlinks, duplicate names and
        encrypted members.
    """
    infos = zf.infolist()
    if len(infos) > limits.zip_max_members:
        raise unsupported(
            f"压缩包里的文件太多（{len(infos)} 个，上限 {limits.zip_max_members} 个）。",
            f"The archive has too many members ({len(infos)}; at most "
            f"{limits.zip_max_members}).",
        )
    seen: set[str] = set()
    total = 0
    for info in infos:
        _check_member(info)
        key = info.filename.casefold()
        if key in seen:
            raise unsupported("压缩包里有重名的文件，已拒绝。",
                              "The archive holds two members with the same name; refused.")
        seen.add(key)
        total += info.file_size
        too_big = info.file_size > limits.zip_max_member_bytes
        ratio_bomb = (info.file_size > RATIO_CHECK_MIN_BYTES
                      and info.file_size > limits.zip_max_ratio * max(info.compress_size, 1))
        if too_big or ratio_bomb or total > limits.zip_max_bytes:
            raise unsupported(
                "压缩包解压后过大或压缩比异常（疑似“压缩炸弹”），已拒绝。",
                "The archive unpacks to too much data or is compressed suspiciously well "
                "(a zip bomb?); refused.",
            )
    return infos


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """A member's bytes, counted while reading (headers may lie, reliability.md F14).

    Parameters
    ----------
    zf : zipfile.ZipFile
    info : zipfile.ZipInfo
        A member :func:`check_zip` passed.
    limits : Limits

    Returns
    -------
    bytes
        At most ``min(limits.zip_max_member_bytes, info.file_size)`` bytes.

    Raises
    ------
    UploadRefused
        ``unsupported_file`` when the member is larger than it claims;
        ``unreadable_file`` when it cannot be unpacked.
    """
    out = io.BytesIO()
    cap = min(limits.zip_max_member_bytes, info.file_size)
    try:
        with zf.open(info) as src:
            while chunk := src.read(1 << 16):
                if out.tell() + len(chunk) > cap:
                    raise unsupported("压缩包里的文件大小与声明不符，已拒绝。",
                                      "An archive member is larger than it claims; refused.")
                out.write(chunk)
    except UploadRefused:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
        raise unreadable("压缩文件已损坏，无法解压。", "The zip archive is damaged.") from e
    return out.getvalue()

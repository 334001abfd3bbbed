"""Safe extraction of zipped exports.

Every entry is vetted *before* anything is written: absolute paths, drive letters, ``..``
components and symlinks (zip-slip), too many entries, too much declared uncompressed data,
and an implausible compression ratio (zip bomb) all raise :class:`UnsafeExportError` naming
the entry. Extraction then streams each entry and counts the bytes actually produced, so a
lying size header cannot get past the limits either.
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import ExportFormatError, UnsafeExportError

_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits for one archive. The ratio check applies to entries above ``ratio_min_bytes`` only:
    tiny files compress absurdly well without being dangerous, and the total cap covers them."""

    max_total_bytes: int = 4 * 1024**3
    max_ratio: float = 200.0
    max_entries: int = 10_000
    ratio_min_bytes: int = 1 << 20


DEFAULT_LIMITS = ArchiveLimits()


def is_zip(path: Path) -> bool:
    return path.is_file() and (path.suffix.lower() == ".zip" or zipfile.is_zipfile(path))


def _check_name(zname: str, archive: str) -> PurePosixPath:
    name = zname.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if "\x00" in name:
        raise UnsafeExportError(f"{archive}: entry {zname!r} has a NUL byte in its name")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafeExportError(f"{archive}: entry {zname!r} has an absolute path; refused")
    if ".." in parts:
        raise UnsafeExportError(f"{archive}: entry {zname!r} contains a '..' component (zip-slip); refused")
    return PurePosixPath(*[p for p in parts if p not in ("", ".")]) if parts else PurePosixPath()


def _vet(zf: zipfile.ZipFile, archive: str, limits: ArchiveLimits) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise UnsafeExportError(f"{archive}: {len(infos)} entries, more than the limit of {limits.max_entries}")
    total, seen, plan = 0, set(), []
    for info in infos:
        rel = _check_name(info.filename, archive)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafeExportError(f"{archive}: entry {info.filename!r} is a symbolic link; refused")
        if info.is_dir() or not rel.parts:
            continue
        if info.flag_bits & 0x1:
            raise ExportFormatError(f"{archive}: entry {info.filename!r} is encrypted")
        if rel.as_posix() in seen:
            raise UnsafeExportError(f"{archive}: entry {info.filename!r} appears twice")
        seen.add(rel.as_posix())
        total += info.file_size
        if total > limits.max_total_bytes:
            raise UnsafeExportError(
                f"{archive}: uncompressed size exceeds {limits.max_total_bytes} bytes at entry {info.filename!r} "
                "(possible zip bomb)"
            )
        if info.file_size > limits.ratio_min_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise UnsafeExportError(
                    f"{archive}: entry {info.filename!r} expands {ratio:.0f}x "
                    f"({info.compress_size} -> {info.file_size} bytes), above the limit of {limits.max_ratio:.0f}x "
                    "(possible zip bomb)"
                )
        plan.append((info, rel))
    return plan


def safe_extract(zip_path: Path, dest: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> list[str]:
    """Extract ``zip_path`` into ``dest`` (emptied first); returns the extracted relative names."""
    archive = zip_path.name
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportFormatError(f"{archive}: not a readable zip archive ({exc})") from None
    with zf:
        plan = _vet(zf, archive, limits)
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        root = dest.resolve()
        written, names = 0, []
        for info, rel in plan:
            target = (dest / rel).resolve()
            if not target.is_relative_to(root):  # defence in depth after _check_name
                raise UnsafeExportError(f"{archive}: entry {info.filename!r} would be written outside the workdir")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "wb") as dst:
                    while block := src.read(_CHUNK):
                        written += len(block)
                        if written > limits.max_total_bytes:
                            raise UnsafeExportError(
                                f"{archive}: entry {info.filename!r} inflates beyond {limits.max_total_bytes} bytes "
                                "(possible zip bomb)"
                            )
                        dst.write(block)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
                raise ExportFormatError(f"{archive}: entry {info.filename!r} cannot be extracted ({exc})") from None
            names.append(rel.as_posix())
    return names

"""Every file the CLI writes for the user (``--out``, ``--plot``, answers files), written one way.

Only a regular file is (re)written: a path naming a FIFO would hang the command, a device node or
a socket would be replaced by a rename (as root, ``/dev/null`` itself), a directory cannot hold a
report. Such a path is refused with exit 2 naming it. The text goes to a temp file in the same
directory, which then replaces the target in one rename (:func:`os.replace`): a reader never
sees half a report, a failure leaves the old file as it was, and the temp file is removed on
every failure. A symlink is followed: the file it names is replaced, the link stays.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from advisor.errors import AdvisorError, EnvironmentProblem, InputError

#: Write errors that are the machine's (a full or failing disk), not the path the user gave.
_ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO})

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _label(path: Path, option: str | None) -> str:
    return f"{option} {path}" if option else str(path)


def output_target(path: Path, option: str | None = None) -> Path:
    """The file a write to ``path`` replaces (a symlink followed); refuses anything but a regular
    file or a new name in an existing directory. Call it early to fail before long work."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise InputError(f"{_label(path, option)}: cannot check the path: {exc.strerror}") from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = next((text for test, text in _KINDS if test(mode)), "not a file")
        raise InputError(f"{_label(path, option)}: exists and is not a regular file ({kind}); name a file to write")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{_label(path, option)}: directory {parent} does not exist")
    return target


def write_output(path: Path, text: str, *, option: str | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; one-line errors naming ``option`` and the path."""
    target = output_target(path, option)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise _write_error(path, option, exc) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), _mode_for(target))
        output_target(path, option)  # still a regular file (or free) just before the rename
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise _write_error(path, option, exc) from None
        raise


def _mode_for(target: Path) -> int:
    """The replaced file's permissions, or what ``open()`` would give a new file (0666 less umask)."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(target).st_mode)
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _write_error(path: Path, option: str | None, exc: OSError) -> AdvisorError:
    message = f"{_label(path, option)}: cannot write: {exc.strerror or exc}"
    return EnvironmentProblem(message) if exc.errno in _ENVIRONMENT_ERRNOS else InputError(message)

"""Files users keep, written so that a crash or a full disk never leaves them half written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def replace_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file in the same folder, flushed and fsync'ed, then renamed over ``path``.

    The rename keeps ``path``'s permissions when it exists, and on POSIX the folder is fsync'ed so
    the rename itself survives a crash. A failure at any point leaves ``path`` as it was (the old
    content, or no file) and removes the temporary file.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.
    text : str
        The whole new content.

    Raises
    ------
    OSError
        When the folder is missing or not writable, or the disk is full (``path`` unchanged).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "table.md")
    >>> replace_text(path, "| a |\\n")
    >>> replace_text(path, "| b |\\n")
    >>> open(path).read(), sorted(os.listdir(os.path.dirname(path)))
    ('| b |\\n', ['table.md'])
    """
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)  # left by a crashed process of the same id
    try:
        with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            shutil.copymode(path, temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    if os.name == "posix":  # the rename itself survives a crash once the folder is synced
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

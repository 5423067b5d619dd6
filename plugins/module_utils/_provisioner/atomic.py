# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The one way this collection replaces a file: a temporary file in the same directory, then a
rename, so a reader (or a crash) sees the old file or the new one, never half of either; and the
one way the provisioner's writers of one directory take turns (an exclusive flock).

Standard library only: the provisioner's callback service imports it (see the package).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile

TEMP_PREFIX = ".bm-"


def write_atomic(path, data, mode=0o644, prefix=TEMP_PREFIX, durable=True):
    """Replace path with data (bytes or str). durable: fsync the file before the rename (record
    files and netboot state; the many generated boot files skip it for speed)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(directory, name, dir_mode=0o755, file_mode=0o644):
    """An exclusive flock on directory/name (both made as needed), held for the with block."""
    os.makedirs(directory, mode=dir_mode, exist_ok=True)
    fd = os.open(os.path.join(directory, name), os.O_RDWR | os.O_CREAT, file_mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

"""Replace a folder's content all at once: write a new folder beside it, then swap the two.

``geo-app layers build`` writes into ``.NAME.tmp-*`` next to the output folder and swaps it in at the
end, so readers see either the old output or the new one, never half of each, and a run that fails
or is killed leaves the old output as it was. On Linux the swap is one ``renameat2(RENAME_EXCHANGE)``;
elsewhere two renames, and a run killed between them leaves ``.NAME.old-*``, which ``recover`` puts
back before the next run.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from pathlib import Path


def exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux renameat2 RENAME_EXCHANGE); False when not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


def recover(out: Path) -> None:
    """Undo what a run killed during the swap left behind; drop stale temporary folders."""
    parent = out.parent
    olds = sorted(parent.glob(f".{out.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if not out.exists() and olds:
        olds[-1].rename(out)
        olds = olds[:-1]
    for stale in [*olds, *parent.glob(f".{out.name}.tmp-*")]:
        shutil.rmtree(stale, ignore_errors=True)


def make_temporary(out: Path) -> Path:
    """A new empty folder beside ``out`` (same file system, so the swap is a rename), shared like a
    folder made with the process's umask (``mkdtemp`` makes it private)."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    return tmp


def swap_in(tmp: Path, out: Path) -> None:
    """Make ``tmp`` the new ``out``; the old content is removed."""
    if not out.exists():
        tmp.rename(out)
        return
    if exchange(tmp, out):  # out now holds the new files, tmp the old ones
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)

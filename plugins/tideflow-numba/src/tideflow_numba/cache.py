"""Where numba's on-disk cache goes (``NUMBA_CACHE_DIR`` wins).

Numba caches next to the source (``__pycache__``) when that directory is writable and
otherwise under ``$HOME/.cache/numba``; when neither is writable, ``@njit(cache=True)``
fails at import. :func:`configure` runs before any kernel module is imported and, when
``NUMBA_CACHE_DIR`` is unset and the package directory is read-only, points numba at
``~/.cache/tideflow/numba`` (or a temporary directory when home is read-only too).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK)


def cache_dir() -> str:
    """The directory numba caches tideflow's kernels in."""
    import numba

    if numba.config.CACHE_DIR:
        return str(numba.config.CACHE_DIR)
    return str(_PACKAGE / "kernels" / "__pycache__")


def configure() -> None:
    """Configure numba before any kernel compiles: threading layer and cache directory.

    The threading layer defaults to ``workqueue`` (unless ``NUMBA_THREADING_LAYER`` is set):
    its idle workers sleep, while the OpenMP layer's spin after every parallel loop and take
    the cores from the BLAS threads of the matrix products that follow (measured on the
    2-core LeNet step: relu 2.3 ms with OpenMP vs 0.34 ms without, the next convolution
    18 vs 12 ms). A plan runs one kernel at a time under the session lock, which is what
    the ``workqueue`` layer requires (it does not support concurrent parallel regions).
    """
    import numba

    if not os.environ.get("NUMBA_THREADING_LAYER") and numba.config.THREADING_LAYER == "default":
        numba.config.THREADING_LAYER = "workqueue"
    if os.environ.get("NUMBA_CACHE_DIR") or numba.config.CACHE_DIR:
        return
    if _writable(_PACKAGE / "kernels" / "__pycache__"):
        return
    for candidate in (Path.home() / ".cache" / "tideflow" / "numba",
                      Path(tempfile.gettempdir()) / "tideflow-numba"):
        if _writable(candidate):
            numba.config.CACHE_DIR = str(candidate)
            return

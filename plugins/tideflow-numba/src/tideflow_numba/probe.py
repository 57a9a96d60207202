"""Availability probe of the numba backend (never raises)."""

from __future__ import annotations


def probe() -> tuple[bool, str]:
    """``(ok, reason)``: whether numba imports, with its version and thread count."""
    try:
        import numba
    except Exception as exc:  # noqa: BLE001 - a probe reports any failure as the reason
        return False, f"numba cannot be imported: {type(exc).__name__}: {exc}"
    from tideflow_numba.cache import cache_dir

    return True, (f"numba {numba.__version__}, {numba.config.NUMBA_NUM_THREADS} threads, "
                  f"cache {cache_dir()}")

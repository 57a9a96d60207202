"""Optional Numba kernels of RMSProp's update ops (imports numba: never import eagerly).

Registered in :mod:`tideflow_optim_rmsprop.plugin` for a ``numba`` backend, as a third-party
plugin would: ``rmsprop_update`` and ``rmsprop_centered_update`` in two variants,
``"default"`` (one variable: the op's inputs ``(param, grad, *slots, lr, step[, skip])``) and
``"fused"`` (every variable of the optimizer over flat buffers, see
``docs/plugins/fused-updates.md``), both running ONE compiled core over 1-D arrays split into
segments. This module holds the compiled cores only: the drivers (layout, skip, clipping,
copy-in/copy-out) are the numba backend's toolkit :mod:`tideflow_numba.updates`.

Each core makes one parallel pass over the data (``prange`` over the toolkit's work items,
inside one variable) and allocates nothing; gradient clipping adds one parallel
sum-of-squares pass first and folds the scale into the update loop. Arithmetic mirrors the
NumPy reference: scalars are cast to the parameter's dtype, element-wise operations run in
that dtype. The weight decay is ignored, as in the reference.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tideflow_numba.updates import Run, dense_update_kernel

# ---------------------------------------------------------------- update rules


@njit(cache=True, parallel=True)
def _rmsprop(p: np.ndarray, g: np.ndarray, s: np.ndarray, lr: float, step: int,
             gscale: float, lo: np.ndarray, hi: np.ndarray, seg: np.ndarray, wd: np.ndarray,
             hyp: np.ndarray) -> None:  # pragma: no cover - numba
    t = p.dtype.type
    a, rho, nrho, eps, gs = t(lr), t(hyp[0]), t(1.0 - hyp[0]), t(hyp[1]), t(gscale)
    for c in prange(lo.size):
        for i in range(lo[c], hi[c]):
            gi = g[i] * gs
            si = nrho * (gi * gi) + rho * s[i]  # s <- (1-rho)*g^2 + rho*s
            s[i] = si
            p[i] = p[i] - a * gi / np.sqrt(si + eps)  # w <- w - lr*g/sqrt(s + eps)


@njit(cache=True, parallel=True)
def _rmsprop_centered(p: np.ndarray, g: np.ndarray, s: np.ndarray, gbar: np.ndarray,
                      lr: float, step: int, gscale: float, lo: np.ndarray, hi: np.ndarray,
                      seg: np.ndarray, wd: np.ndarray,
                      hyp: np.ndarray) -> None:  # pragma: no cover - numba
    t = p.dtype.type
    a, rho, nrho, eps, gs = t(lr), t(hyp[0]), t(1.0 - hyp[0]), t(hyp[1]), t(gscale)
    for c in prange(lo.size):
        for i in range(lo[c], hi[c]):
            gi = g[i] * gs
            si = nrho * (gi * gi) + rho * s[i]  # s <- (1-rho)*g^2 + rho*s
            bi = nrho * gi + rho * gbar[i]  # gbar <- (1-rho)*g + rho*gbar
            s[i] = si
            gbar[i] = bi
            # w <- w - lr*g/sqrt(s - gbar^2 + eps)
            p[i] = p[i] - a * gi / np.sqrt(si - bi * bi + eps)


# ---------------------------------------------------------------- kernel factories


def _hyper(attrs: dict) -> tuple[float, float]:
    return attrs["decay_rate"], attrs["epsilon"]


def rmsprop_update(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Plain RMSProp for one variable: inputs ``(w, g, mean_square, lr, step)``."""
    return dense_update_kernel(_rmsprop, attrs, in_metas, 1, _hyper(attrs))


def rmsprop_update_fused(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """:func:`rmsprop_update` over flat segments (the fused contract)."""
    return dense_update_kernel(_rmsprop, attrs, in_metas, 1, _hyper(attrs), fused=True)


def rmsprop_centered_update(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Centered RMSProp for one variable: ``(w, g, mean_square, mean_gradient, lr, step)``."""
    return dense_update_kernel(_rmsprop_centered, attrs, in_metas, 2, _hyper(attrs))


def rmsprop_centered_update_fused(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """:func:`rmsprop_centered_update` over flat segments (the fused contract)."""
    return dense_update_kernel(_rmsprop_centered, attrs, in_metas, 2, _hyper(attrs), fused=True)

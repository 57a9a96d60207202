"""Optional Numba kernels of LARS's update op (imports numba: never import eagerly).

Registered in :mod:`tideflow_optim_lars.plugin` for a ``numba`` backend, as a third-party
plugin would: ``lars_update`` in two variants, ``"default"`` (one variable: the op's inputs
``(param, grad, momentum, lr, step[, skip])``) and ``"fused"`` (every variable of the
optimizer over flat buffers, see ``docs/plugins/fused-updates.md``), both running ONE
compiled core over 1-D arrays split into segments. This module holds the compiled core only:
the driver (layout, skip, copy-in/copy-out, workspaces) is the numba backend's toolkit
:mod:`tideflow_numba.updates`.

LARS needs each variable's ``||w||`` and ``||g||``: a first parallel pass sums ``w^2`` and
``g^2`` per work item (float64; the toolkit's work items lie inside one variable), the
items are summed per variable (and over all variables for gradient clipping, whose scale
multiplies the gradient norms: the core receives the clip norm, ``clip_in_core``), and a
second parallel pass updates the momentum and the parameter. Nothing is allocated. Scalars
(norms, trust ratio, local rate) are computed in double as the reference does and cast to
the parameter's dtype; element-wise operations run in that dtype.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from tideflow_numba.updates import Run, dense_update_kernel, sumsq

# ---------------------------------------------------------------- update rule


@njit(cache=True, parallel=True)
def _lars(p: np.ndarray, g: np.ndarray, u: np.ndarray, lr: float, step: int, clip: float,
          lo: np.ndarray, hi: np.ndarray, seg: np.ndarray, wd: np.ndarray, hyp: np.ndarray,
          part: np.ndarray, segsum: np.ndarray) -> None:  # pragma: no cover - numba
    t = p.dtype.type
    # pass 1: per-item sums of w^2 and g^2
    for c in prange(lo.size):
        part[c, 0] = sumsq(p, lo[c], hi[c])
        part[c, 1] = sumsq(g, lo[c], hi[c])
    segsum[:, :] = 0.0
    total = 0.0
    for c in range(lo.size):
        segsum[seg[c], 0] += part[c, 0]
        segsum[seg[c], 1] += part[c, 1]
        total += part[c, 1]
    gs = t(1.0)
    if clip > 0.0:  # clip_by_global_norm's scale, folded in
        gs = t(clip / max(math.sqrt(total), clip))
    beta, eps, coeff = t(hyp[0]), hyp[1], hyp[2]
    # pass 2: trust = coeff*|w|/(eps + |g| + wd*|w|) (1 if a norm is 0);
    # u <- beta*u - lr*trust*g; w <- w + u - lr*trust*wd*w
    for c in prange(lo.size):
        s = seg[c]
        w_norm, g_norm = math.sqrt(segsum[s, 0]), math.sqrt(segsum[s, 1]) * np.float64(gs)
        trust = 1.0
        if w_norm > 0 and g_norm > 0:
            trust = coeff * w_norm / (eps + g_norm + wd[s] * w_norm)
        eta = lr * trust
        et, etw = t(eta), t(eta * wd[s])
        for i in range(lo[c], hi[c]):
            ui = beta * u[i] - et * (g[i] * gs)
            u[i] = ui
            p[i] = p[i] + ui - etw * p[i]


# ---------------------------------------------------------------- kernel factories


def _hyper(attrs: dict) -> tuple[float, float, float]:
    return attrs["beta"], attrs["epsilon"], attrs["lars_coefficient"]


def lars_update(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """LARS for one variable: inputs ``(w, g, momentum, lr, step)``."""
    return dense_update_kernel(_lars, attrs, in_metas, 1, _hyper(attrs), workspace=0,
                               clip_in_core=True)


def lars_update_fused(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """:func:`lars_update` over flat segments, norms per segment (the fused contract)."""
    return dense_update_kernel(_lars, attrs, in_metas, 1, _hyper(attrs), fused=True,
                               workspace=0, clip_in_core=True)

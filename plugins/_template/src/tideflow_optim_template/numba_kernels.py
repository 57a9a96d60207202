"""Optional Numba kernels of ``template_sgd_update`` (imports numba; never import it eagerly).

:mod:`tideflow_optim_template.plugin` names the factories below by ``"module:attr"`` strings,
so this module (and numba) is imported only when a job runs the op on the ``numba`` backend,
which the ``tideflow-numba`` distribution provides (the optional extra ``numba``).

A kernel factory has the signature of the op's reference kernel:
``(attrs, in_metas, out_metas) -> run(ins, outs)``. Two variants are registered:

- ``"default"``: one variable, the op's inputs ``(param, grad, *slots, lr, step[, skip])``;
- ``"fused"``: every variable the optimizer updates, over flat buffers, with per-variable
  weight decays, an optional clip norm and skip count (``docs/plugins/fused-updates.md``).

Both run ONE compiled core, written here; the numba backend's toolkit
:mod:`tideflow_numba.updates` does the rest (work-item layout, skip count, clipping scale,
strided inputs): :func:`~tideflow_numba.updates.dense_update_kernel` calls the core as
``core(param, grad, *slots, lr, step, gscale, lo, hi, seg, wd, hyp)`` over 1-D arrays. The
core loops over work items ``c`` (``prange``), elements ``[lo[c], hi[c])`` of variable
``seg[c]``, and updates ``param`` and the slots in place (``n_slots`` of them; a family
with hyperparameters passes them as ``hyper``, e.g. ``(attrs["beta"],)``, and the core reads
``hyp[0]``). Cast scalars to the parameter's dtype (``t = p.dtype.type``) so that float32
computes in float32, as the NumPy reference does.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tideflow_numba.updates import Run, dense_update_kernel


@njit(cache=True, parallel=True)
def _sgd(p: np.ndarray, g: np.ndarray, lr: float, step: int, gscale: float, lo: np.ndarray,
         hi: np.ndarray, seg: np.ndarray, wd: np.ndarray,
         hyp: np.ndarray) -> None:  # pragma: no cover - numba
    """``w <- w - lr * (gscale * g)``; TemplateSGD has no weight decay (``wd`` unused)."""
    t = p.dtype.type
    a, gs = t(lr), t(gscale)
    for c in prange(lo.size):
        for i in range(lo[c], hi[c]):
            p[i] = p[i] - a * (g[i] * gs)


def template_sgd_update(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """Kernel factory: ``w <- w - lr * g`` for one variable, in place."""
    return dense_update_kernel(_sgd, attrs, in_metas, 0)


def template_sgd_update_fused(attrs: dict, in_metas: list, out_metas: list) -> Run:
    """:func:`template_sgd_update` over flat segments (the fused contract)."""
    return dense_update_kernel(_sgd, attrs, in_metas, 0, fused=True)

"""Optional Numba kernel of ``template_sgd_update`` (imports numba; never import it eagerly).

A kernel factory has the signature of the op's reference kernel:
``(attrs, in_metas, out_metas) -> run(ins, outs)``. ``run`` receives the op's inputs
``(param, grad, *slots, lr, step)`` and writes the new parameter and slots in place. Inputs
may be non-contiguous views, so the kernel works on contiguous copies when needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit


@njit(cache=True)
def _sgd(param: np.ndarray, grad: np.ndarray, lr: float) -> None:  # pragma: no cover - numba
    for i in range(param.size):
        param[i] -= lr * grad[i]


def template_sgd_update(attrs: dict, in_metas: list, out_metas: list
                        ) -> Callable[[list[Any], list[Any]], None]:
    """Kernel factory: ``w <- w - lr * g`` in place, element by element."""

    def run(ins: list[Any], outs: list[Any]) -> None:
        param, grad, lr = ins[0], ins[1], float(ins[2][0])
        work = np.ascontiguousarray(param)
        _sgd(work.reshape(-1), np.ascontiguousarray(grad).reshape(-1), lr)
        if work is not param:
            param[...] = work

    return run

"""``flow.function_config()``: per-job options, as methods (``cfg.default_data_type(...)``).

Options that change behaviour here: ``default_data_type``, ``default_logical_view``,
``default_placement_scope``, ``default_initializer_conf``, ``allow_cpu_return_op`` and
``allow_reference_fallback`` (tideflow's own). The AMP switch and OneFlow's performance
knobs are accepted and recorded; they do not change results (see docs/function-config.md).
Dotted options (``cfg.train.primary_lr(0.1)``) work through nested groups. An unknown name
is an error.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

from tideflow.dtypes import as_dtype
from tideflow.errors import TideflowError

#: Options whose value is used by tideflow.
ACTIVE = {
    "default_data_type", "default_logical_view", "default_distribute_strategy",
    "default_placement_scope", "default_initializer_conf", "allow_cpu_return_op",
    "allow_reference_fallback", "enable_auto_mixed_precision", "indexed_slices_optimizer_conf",
}
#: Options accepted for compatibility; they do not change results on one device.
ACCEPTED = {
    "enable_fuse_model_update_ops", "enable_gradients_stats_aggregation", "enable_cudnn",
    "cudnn_buf_limit_mbyte", "cudnn_conv_force_fwd_algo", "cudnn_conv_force_bwd_data_algo",
    "cudnn_conv_force_bwd_filter_algo", "cudnn_conv_heuristic_search_algo",
    "cudnn_conv_use_deterministic_algo_only", "enable_inplace", "enable_reused_mem",
    "enable_fuse_add_to_output", "enable_fuse_cast_scale", "concurrency_width",
    "use_xla_jit", "use_tensorrt", "enable_qat", "prune_parallel_cast_ops",
    "prune_cast_to_static_shape_ops", "enable_nccl",
    "use_boxing_v2", "all_reduce_group_num", "all_reduce_lazy_ratio",
    "all_reduce_group_min_mbyte", "all_reduce_group_size_warmup", "all_reduce_fp16",
    "enable_keep_header_only", "enable_float_compute_for_half_gemm",
    "enable_non_distributed_optimizer", "non_distributed_optimizer_group_size_mbyte",
    "default_initialize_with_snapshot_path", "static_mem_alloc_policy_white_list",
    "enable_true_half_config_when_conv", "exp_run_conf",
}
TRAIN_OPTIONS = {
    "primary_lr", "secondary_lr", "model_update_conf", "loss_scale_factor",
    "num_gradient_accumulation_steps", "optimizer_placement_optimization_mode",
    "optimizer_placement_optimization_threshold", "weight_l1", "weight_l2", "bias_l1",
    "bias_l2",
}
GROUPS = {"train": TRAIN_OPTIONS, "tensorrt": None, "qat": None}


class UnknownOptionError(TideflowError, AttributeError):
    """A function_config option that OneFlow does not have."""


class _Group:
    """A dotted option group such as ``cfg.train``."""

    def __init__(self, owner: FunctionConfig, prefix: str, names: set[str] | None) -> None:
        self._owner = owner
        self._prefix = prefix
        self._names = names

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._names is not None and name not in self._names:
            raise UnknownOptionError(
                f"function_config.{self._prefix}.{name} is not an option; known: "
                f"{', '.join(sorted(self._names))}"
            )
        key = f"{self._prefix}.{name}"

        def setter(value: Any = True) -> FunctionConfig:
            warnings.warn(
                f"function_config.{key} is deprecated in OneFlow; use flow.optimizer.* in "
                "the job body. tideflow records it but the job must still call minimize()",
                DeprecationWarning, stacklevel=2,
            )
            self._owner.options[key] = value
            return self._owner

        return setter


class FunctionConfig:
    """Per-job configuration. Decorating a job copies it; later changes do not apply."""

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "options":
            raise AttributeError(name)
        if name in GROUPS:
            return _Group(self, name, GROUPS[name])
        if name not in ACTIVE and name not in ACCEPTED:
            raise UnknownOptionError(
                f"function_config has no option {name!r}; see docs/function-config.md for "
                "the supported and accepted options"
            )

        def setter(value: Any = True, *more: Any) -> FunctionConfig:
            if name == "default_data_type":
                value = as_dtype(value)
            self.options[name] = value
            return self

        return setter

    def get(self, name: str, default: Any = None) -> Any:
        """Return the value set for option ``name`` (or ``default``)."""
        return self.options.get(name, default)

    def clone(self) -> FunctionConfig:
        """A copy whose later changes do not affect this one."""
        new = FunctionConfig()
        new.options = copy.copy(self.options)
        return new


def function_config() -> FunctionConfig:
    """Return a fresh :class:`FunctionConfig`."""
    return FunctionConfig()


ExecutionConfig = FunctionConfig

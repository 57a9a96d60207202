"""Which first-party distribution provides which public name (a directory, not a dependency).

This mirrors ``docs/plugins/directory.md``: the registry reads it only to word the error for
a name that no installed plugin provides ("``flow.optimizer.LARS`` is provided by
tideflow-optim-lars, which is not installed; ..."). Nothing here is imported or loaded.
"""

from __future__ import annotations

#: Optimizer class name -> the first-party distribution that exports it.
KNOWN_OPTIMIZERS: dict[str, str] = {
    "SGD": "tideflow-optim-sgd",
    "SGDW": "tideflow-optim-sgd",
    "Adam": "tideflow-optim-adam",
    "AdamW": "tideflow-optim-adam",
    "LazyAdam": "tideflow-optim-adam",
    "LAMB": "tideflow-optim-adam",
    "LARS": "tideflow-optim-lars",
    "RMSProp": "tideflow-optim-rmsprop",
}

#: Backend name -> the first-party distribution that provides it.
KNOWN_BACKENDS: dict[str, str] = {
    "numba": "tideflow-numba",
    "cuda": "tideflow-cuda",
}

#: Where the monorepo keeps each first-party plugin, relative to the repository root.
REPO_PLUGIN_DIR = "plugins"


def install_hint(dist: str) -> str:
    """Return the sentence that says how to install the first-party distribution ``dist``."""
    return (
        f"install it with `pip install {dist}` "
        f"(from this repository: `pip install -e {REPO_PLUGIN_DIR}/{dist}`)"
    )

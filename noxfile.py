"""nox sessions for the tideflow monorepo.

``nox`` (no arguments) runs the CPU test matrix, the core-only run, the conformance kit and
lint. Every backend session installs only the core, that backend's plugin and the optimizer
plugins, and sets ``TIDEFLOW_TEST_BACKENDS`` so that the backend's tests must run.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.sessions = ["tests", "core", "conformance", "lint"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

CORE = "packages/tideflow"
OPTIMIZERS = [
    "plugins/tideflow-optim-sgd",
    "plugins/tideflow-optim-lars",
    "plugins/tideflow-optim-rmsprop",
    "plugins/tideflow-optim-adam",
]
#: backend -> the plugins its test session installs (the NumPy reference is in the core).
BACKEND_PLUGINS: dict[str, list[str]] = {"numpy": [], "numba": ["plugins/tideflow-numba"]}
#: numba's on-disk kernel cache, shared by the sessions and kept between runs.
NUMBA_CACHE = str(Path(".nox", "numba-cache").resolve())
#: Plugins that only the conformance session installs: the template and a third-party example.
SAMPLE_PLUGINS = ["plugins/_template", "tests/data/tideflow-optim-example"]
TEST_DEPS = ["pytest>=8", "tqdm", "matplotlib", "protobuf"]
#: PyTorch CPU, the parity yardstick (pinned: the CPU build; an unpinned torch is a CUDA build).
TORCH = "torch==2.13.0"


def _install(session: nox.Session, *paths: str) -> None:
    """Install local distributions (editable) plus the test dependencies."""
    args = []
    for p in paths:
        args += ["-e", p]
    session.install(*args, *TEST_DEPS)


@nox.session
@nox.parametrize("backend", list(BACKEND_PLUGINS), ids=list(BACKEND_PLUGINS))
def tests(session: nox.Session, backend: str) -> None:
    """Run every test (core, plugins, cross-package) on one backend."""
    _install(session, CORE, *OPTIMIZERS, *BACKEND_PLUGINS[backend])
    session.install(TORCH)
    env = {"TIDEFLOW_TEST_BACKENDS": backend, "TIDEFLOW_CPU_BACKEND": backend,
           "NUMBA_CACHE_DIR": NUMBA_CACHE}
    session.run("pytest", "-q", f"{CORE}/tests", *[f"{p}/tests" for p in OPTIMIZERS],
                *[f"{p}/tests" for p in BACKEND_PLUGINS[backend]], "tests", *session.posargs,
                env=env)


@nox.session
def core(session: nox.Session) -> None:
    """Run the core's tests with no plugin installed or loaded."""
    _install(session, CORE)
    session.install(TORCH)
    session.run("pytest", "-q", f"{CORE}/tests", *session.posargs,
                env={"TIDEFLOW_PLUGINS": "", "TIDEFLOW_TEST_BACKENDS": "numpy"})


@nox.session
def conformance(session: nox.Session) -> None:
    """Run the conformance kit on every optimizer plugin, the template and the example."""
    _install(session, CORE, *OPTIMIZERS, *SAMPLE_PLUGINS)
    session.install(TORCH)
    modules = [str(m) for p in OPTIMIZERS + SAMPLE_PLUGINS
               for m in sorted(Path(p, "tests").glob("test_*conformance.py"))]
    session.run("pytest", "-q", *modules, f"{CORE}/tests/test_kit_catches_bugs.py",
                *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style with ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def demo(session: nox.Session) -> None:
    """Train LeNet on MNIST with the default backend and print the test accuracy."""
    session.install("-e", CORE, *[a for p in OPTIMIZERS + BACKEND_PLUGINS["numba"]
                                  for a in ("-e", p)], "tqdm")
    session.run("python", "examples/lenet_mnist.py", *session.posargs,
                env={"TIDEFLOW_DATA_DIR": os.environ.get("TIDEFLOW_DATA_DIR", "")} if
                os.environ.get("TIDEFLOW_DATA_DIR") else None)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks against PyTorch CPU and the memory roofline (ratios measured side by side)."""
    session.install("-e", CORE, *[a for p in OPTIMIZERS + BACKEND_PLUGINS["numba"]
                                  for a in ("-e", p)], TORCH, "tqdm")
    session.run("python", "benchmarks/run.py", *session.posargs,
                env={"NUMBA_CACHE_DIR": NUMBA_CACHE})

"""``python -m tideflow info``: versions, plugins, backends, optimizers and the kernel matrix.

Everything shown comes from the plugin registry, so the listing is also the quickest way to
see why a plugin failed to load or why a backend is unavailable. ``--json`` prints the same
data as one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import platform
import sys
from collections.abc import Sequence
from typing import Any

from tideflow.errors import PluginError
from tideflow.plugins.registry import Registry, get_registry

_LEGEND = ("ref = runs the op's NumPy reference, k = kernel, k+fused = kernel and fused "
           "multi-tensor variant, - = none")


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        module = sys.modules.get(dist)
        return f"{getattr(module, '__version__', 'unknown')} (source)"


def versions() -> dict[str, str]:
    """Return the versions of tideflow, numpy, pluggy and Python."""
    return {"tideflow": _version("tideflow"), "numpy": _version("numpy"),
            "pluggy": _version("pluggy"), "python": platform.python_version()}


def _cell(registry: Registry, op: str, backend: str) -> str:
    if registry.backends[backend].reference and op in registry.ops:
        return "ref"
    variants = sorted(v for (o, b, v) in registry.kernels if o == op and b == backend)
    if not variants:
        return "-"
    parts = ["k"] if "default" in variants else []
    return "+".join(parts + [v for v in variants if v != "default"])


def gather(registry: Registry) -> dict[str, Any]:
    """Return everything ``info`` shows, as JSON-ready data."""
    backends = sorted(registry.backends.values(), key=lambda b: (b.device, -b.priority, b.name))
    columns = [b.name for b in backends]
    ops = sorted(set(registry.ops) | {o for (o, _, _) in registry.kernels})
    return {
        "versions": versions(),
        "plugins": [
            {"name": p.name, "distribution": p.dist, "version": p.version, "status": p.status,
             "error": p.detail or None, "hooks": list(p.hooks)}
            for p in registry.plugins
        ],
        "backends": [
            {"name": b.name, "device": b.device, "priority": b.priority,
             "available": registry.backend_available(b.name)[0],
             "reason": registry.backend_available(b.name)[1], "reference": b.reference,
             "supports_float16": b.supports_float16,
             "provider": registry.provider("backend", b.name)}
            for b in backends
        ],
        "optimizers": [
            {"class": c, "family": f, "provider": registry.provider("optimizer", f)}
            for c, f in sorted(registry.optimizer_classes.items())
        ],
        "schedulers": [
            {"class": c, "provider": registry.provider("scheduler", c)}
            for c in sorted(registry.schedulers)
        ],
        "kernels": {"backends": columns,
                    "ops": {op: {b: _cell(registry, op, b) for b in columns} for op in ops}},
    }


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [(indent + "  ".join(c.ljust(w) for c, w in zip(r, widths))).rstrip() for r in rows]


def render(data: dict[str, Any]) -> str:
    """Return the text listing of :func:`gather`'s data."""
    v = data["versions"]
    out = [f"tideflow {v['tideflow']} (numpy {v['numpy']}, pluggy {v['pluggy']}, "
           f"Python {v['python']})", "", "Plugins:"]
    rows = [["name", "distribution", "version", "status", "hooks"]]
    notes: dict[int, str] = {}
    for p in data["plugins"]:
        hooks = ", ".join(h.removeprefix("tideflow_") for h in p["hooks"])
        rows.append([p["name"], p["distribution"], p["version"], p["status"], hooks])
        if p["error"]:
            notes[len(rows) - 1] = f"      {'error' if p['status'] == 'failed' else 'why'}: " \
                                   f"{p['error']}"
    for i, line in enumerate(_table(rows)):
        out += [line, notes[i]] if i in notes else [line]
    out += ["", "Backends:"]
    rows = [["name", "device", "priority", "state", "provider"]]
    for b in data["backends"]:
        state = "ok" if b["available"] else f"unavailable: {b['reason']}"
        rows.append([b["name"], b["device"], str(b["priority"]), state, b["provider"]])
    out += _table(rows) if len(rows) > 1 else ["  none"]
    out += ["", "Optimizers:"]
    rows = [["class", "family", "provider"]]
    rows += [[o["class"], o["family"], o["provider"]] for o in data["optimizers"]]
    out += _table(rows) if len(rows) > 1 else ["  none installed (see docs/plugins/directory.md)"]
    out += ["", "Schedulers:"]
    rows = [["class", "provider"]] + [[s["class"], s["provider"]] for s in data["schedulers"]]
    out += _table(rows) if len(rows) > 1 else ["  none"]
    out += ["", f"Kernels ({_LEGEND}):"]
    matrix = data["kernels"]
    rows = [["op", *matrix["backends"]]]
    rows += [[op, *cells.values()] for op, cells in matrix["ops"].items()]
    out += _table(rows) if len(rows) > 1 else ["  no ops"]
    if "timings" in data:
        from tideflow.timings import render as render_timings

        out += render_timings(data["timings"])
    return "\n".join(out)


def _timings(registry: Any) -> list[dict[str, Any]]:
    """:func:`tideflow.timings.measure` for every available ``cpu`` backend."""
    from tideflow.timings import measure

    rows = []
    for name, spec in sorted(registry.backends.items()):
        if spec.device != "cpu" or not registry.backend_available(name)[0]:
            continue
        try:
            rows.append(measure(name))
        except Exception as exc:  # noqa: BLE001 - reported, the listing still prints
            rows.append({"backend": name, "error": f"{type(exc).__name__}: {exc}"})
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tideflow`` command line; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m tideflow", description="Show what tideflow has installed.")
    parser.add_argument("command", nargs="?", default="info", choices=["info"],
                        help="what to show (default: info)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--timings", action="store_true", help="also show compile timings")
    args = parser.parse_args(argv)
    try:
        registry = get_registry()
    except PluginError as exc:
        v = versions()
        print(f"tideflow {v['tideflow']}: the plugin registry cannot be built: {exc}",
              file=sys.stderr)
        return 1
    data = gather(registry)
    if args.timings:
        data["timings"] = _timings(registry)
    try:
        print(json.dumps(data, indent=2) if args.json else render(data), flush=True)
    except BrokenPipeError:  # `python -m tideflow info | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0

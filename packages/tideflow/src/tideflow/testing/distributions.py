"""Write a plugin distribution as pip would install it, for tests of plugin loading."""

from __future__ import annotations

from pathlib import Path


def write_distribution(site: Path, dist: str, package: str, entry_point: str,
                       files: dict[str, str]) -> None:
    """Create ``site/package`` and its ``.dist-info`` with a ``tideflow`` entry point.

    Args:
        site: a directory to put on ``sys.path``.
        dist: the distribution name (``tf-fake``).
        package: the import package; ``entry_point`` names ``<package>.plugin``.
        entry_point: the plugin's name (what ``TIDEFLOW_PLUGINS`` selects).
        files: file name -> text inside the package (``plugin.py`` at least); an empty
            ``__init__.py`` is added when missing.
    """
    (site / package).mkdir(parents=True)
    for name, text in {"__init__.py": "", **files}.items():
        (site / package / name).write_text(text)
    info = site / f"{package}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[tideflow]\n{entry_point} = {package}.plugin\n")

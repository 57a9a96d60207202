"""Turn named check functions into pytest parameters with strict expected failures."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[], None]


def named(name: str, fn: Check, doc: str) -> Check:
    """Wrap ``fn`` as the check ``name``: any error it raises becomes an AssertionError.

    So a check fails the same way whether the plugin gives a wrong number or crashes, and
    strict expected failures (which expect an AssertionError) cover both.
    """

    def check() -> None:
        try:
            fn()
        except AssertionError:
            raise
        except Exception as exc:
            raise AssertionError(f"{name}: {type(exc).__name__}: {exc}") from exc

    check.__name__ = check.__qualname__ = name
    check.__doc__ = doc
    return check


def as_params(checks: Mapping[str, Check], expected_failures: Mapping[str, str] | None,
              caller: str) -> list[Any]:
    """Return one ``pytest.param(check, id=name)`` per check, in order.

    A check named in ``expected_failures`` (name -> reason) is marked
    ``xfail(strict=True, reason=...)``: it must fail, and its passing is reported as an error.

    Raises:
        ValueError: ``expected_failures`` names a check that does not exist.
    """
    import pytest

    expected = dict(expected_failures or {})
    unknown = sorted(set(expected) - set(checks))
    if unknown:
        raise ValueError(f"{caller}: `expected_failures` names unknown checks {unknown}; "
                         f"the checks are: {', '.join(checks)}")
    params = []
    for name, fn in checks.items():
        marks = ()
        if name in expected:
            marks = (pytest.mark.xfail(strict=True, raises=AssertionError,
                                       reason=expected[name]),)
        params.append(pytest.param(fn, id=name, marks=marks))
    return params

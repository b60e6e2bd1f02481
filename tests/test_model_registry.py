"""common.model_registry: the one variant-registry builder every models.py calls."""
from __future__ import annotations

import pytest

from common.errors import ConfigError
from common.model_registry import build_variant


def _toy(width: int = 1, depth: int = 1, name: str = "toy") -> dict:
    return {"width": width, "depth": depth, "name": name}


VARIANTS = {"a": {"builder": _toy, "kwargs": {"depth": 3}}}


def test_registered_kwargs_then_small_then_overrides_and_name():
    assert build_variant(VARIANTS, "a", {}) == {"width": 1, "depth": 3, "name": "a"}
    small = {"width": 8, "not_taken": 1}  # keys the builder does not take are skipped
    assert build_variant(VARIANTS, "a", {}, small=True, small_overrides=small) == \
        {"width": 8, "depth": 3, "name": "a"}
    assert build_variant(VARIANTS, "a", {"width": 2, "name": "n"}, small=True,
                         small_overrides=small) == {"width": 2, "depth": 3, "name": "n"}


def test_unknown_variant_and_key_are_named():
    with pytest.raises(ConfigError, match=r"unknown model variant 'b'; known: \['a'\]"):
        build_variant(VARIANTS, "b", {})
    with pytest.raises(ConfigError, match=r"unknown override key\(s\) \['small'\]; "
                                          r"accepted: \['depth', 'name', 'width'\]"):
        build_variant(VARIANTS, "a", {"small": True})


def test_accepted_callable_widens_the_keys():
    with pytest.raises(ConfigError):
        build_variant(VARIANTS, "a", {"extra": 1})
    built = build_variant({"a": {"builder": lambda **kw: kw, "kwargs": {}}}, "a", {"extra": 1},
                          accepted=lambda b: {"extra", "name"})
    assert built == {"extra": 1, "name": "a"}

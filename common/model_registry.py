"""Building a model from a variant registry, and counting its parameters.

Every reproduction's ``models.py`` holds ``MODEL_VARIANTS``: name -> ``{"builder", "kwargs",
expected counts, ...}``. Building one is the same everywhere (unknown name and unknown override
keys are errors naming what is known, the smoke profile ``small`` shrinks what the builder takes,
explicit overrides win, the Keras model is named after the variant), so it is written once here.
This module is a leaf: it imports only ``common.errors``.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from common.errors import ConfigError

if TYPE_CHECKING:
    import keras


def signature_params(builder: Callable[..., Any]) -> set[str]:
    """Keyword names ``builder`` takes, read from its signature."""
    return set(inspect.signature(builder).parameters)


def build_variant(variants: Mapping[str, Mapping[str, Any]], name: str,
                  overrides: Mapping[str, Any], *, small: bool = False,
                  small_overrides: Mapping[str, Any] | None = None,
                  accepted: Callable[[Callable[..., Any]], set[str]] = signature_params,
                  ) -> keras.Model:
    """Build registry variant ``name`` of ``variants`` with keyword ``overrides``.

    ``overrides`` is a mapping, not ``**kwargs``, so a caller's ``small=`` or ``accepted=`` can
    never be taken for an override key (or the other way round).

    ``small`` applies those ``small_overrides`` the builder takes (the smoke profile: the layer
    sequence stays, widths and input shrink), then explicit ``overrides`` win; the model is
    named ``name`` unless the registered or given keywords name it. ``accepted(builder)`` says
    which keywords a builder takes (a module whose thin wrappers pass ``**kwargs`` on follows
    them to their target). Raises ConfigError for an unknown variant or override key."""
    if name not in variants:
        raise ConfigError(f"unknown model variant {name!r}; known: {sorted(variants)}")
    variant = variants[name]
    builder = variant["builder"]
    known = accepted(builder)
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"model variant {name!r}: unknown override key(s) {unknown}; "
                          f"accepted: {sorted(known)}")
    kwargs = dict(variant["kwargs"])
    if small:
        kwargs.update({k: v for k, v in (small_overrides or {}).items() if k in known})
    kwargs.update(overrides)
    kwargs.setdefault("name", name)
    return builder(**kwargs)


def count_params(model: keras.Model) -> dict[str, int]:
    """Trainable (= PyTorch ``parameters()``), non-trainable (BatchNorm moving statistics =
    PyTorch running buffers) and total scalar counts of ``model``."""
    trainable = sum(int(math.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(math.prod(w.shape)) for w in model.non_trainable_weights)
    return {"trainable": trainable, "non_trainable": frozen, "total": trainable + frozen}

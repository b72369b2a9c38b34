"""The architecture registry: one function, :func:`build_model`, builds every network of the book from its config.

A network is described by one frozen dataclass (``MLPConfig``, ``ResNet8Config``, ...) and built by the module
class registered for that config type::

    @register(MLPConfig)
    class MLP(nn.Module):
        def __init__(self, cfg: MLPConfig): ...

Configs are hashable values: a trained member (:class:`symlib.training.Member`) carries its architecture as one
config, and the member store (:mod:`symlib.store`) keys a member by it. Any frozen dataclass can be registered
(the tests register tiny ones); a config type that is not registered is a ``TypeError`` naming the registered ones.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, TypeVar

from torch import nn

_REGISTRY: dict[type, type[nn.Module]] = {}

M = TypeVar("M", bound=type)


def register(config_type: type) -> Callable[[M], M]:
    """Class decorator: ``config_type`` instances are built by the decorated ``nn.Module`` class."""
    if not (dataclasses.is_dataclass(config_type) and config_type.__dataclass_params__.frozen):
        raise TypeError(f"{config_type.__name__} must be a frozen dataclass to describe an architecture")

    def decorate(module_type: M) -> M:
        known = _REGISTRY.get(config_type)
        if known is not None and known.__qualname__ != module_type.__qualname__:
            raise ValueError(f"{config_type.__name__} is already built by {known.__name__}")
        _REGISTRY[config_type] = module_type
        return module_type

    return decorate


def build_model(config: Any) -> nn.Module:
    """The network described by ``config`` (weights from the current torch RNG state)."""
    try:
        module_type = _REGISTRY[type(config)]
    except KeyError:
        names = ", ".join(sorted(t.__name__ for t in _REGISTRY)) or "none"
        raise TypeError(f"no architecture is registered for {type(config).__name__}; registered configs: "
                        f"{names} (decorate the module class with symlib.architectures.register)") from None
    return module_type(config)


def registered() -> dict[type, type[nn.Module]]:
    """``{config type: module class}`` of every registered architecture."""
    return dict(_REGISTRY)


def describe(config: Any) -> dict[str, Any]:
    """A config as JSON-able data: ``{"architecture": type name, **fields}`` (tuples as lists)."""
    return {"architecture": type(config).__name__, **dataclasses.asdict(config)}

"""Classes named ``"module:Class"`` in a scenario: user policies and user domains.

>>> from simulator.domains import Domain
>>> import_class("simulator.domains.recsys:RecsysDomain", Domain, "simulator.domains.Domain").__name__
'RecsysDomain'
>>> import_class("collections:OrderedDict", Domain, "simulator.domains.Domain")
Traceback (most recent call last):
...
simulator.plugins.PluginError: 'collections:OrderedDict' is not a subclass of simulator.domains.Domain
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path


class PluginError(ValueError):
    """A ``"module:Class"`` that is malformed, does not import, or is not the kind of class asked for."""


def import_class(spec: str, base: type, base_name: str) -> type:
    """Import the class ``spec`` names and check that it subclasses ``base`` (``base_name`` in messages).

    The working folder is searched first, as ``python -m`` would, so a module
    beside the scenario or the notebook is found.
    """
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise PluginError(f"{spec!r} is not of the form 'module:Class'")
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, whatever the module raised, or a malformed module name
        raise PluginError(f"cannot import {module_name!r}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(f"{spec!r} is not a subclass of {base_name}")
    return cls

"""A plug-in module that ends the process while it is imported (a script's ``sys.exit`` left at the bottom).

It misbehaves only when ``LAB_PLUGIN_MISBEHAVE`` is set (the tests set it):
pytest imports every module under tests/ to look for doctests.
"""
import os
import sys

from simulator.domains import Domain
from simulator.policies import RetrainingPolicy

if os.environ.get("LAB_PLUGIN_MISBEHAVE"):
    sys.exit(1)


class Eager(RetrainingPolicy):
    """Would retrain every day."""

    def should_retrain(self, view):
        return True


class MyDomain(Domain):
    """Would be a domain."""

"""A plug-in module whose import blocks for a minute (a download, a lock, a server that does not answer).

It misbehaves only when ``LAB_PLUGIN_MISBEHAVE`` is set (the tests set it):
pytest imports every module under tests/ to look for doctests.
"""
import os
import time

from simulator.domains import Domain
from simulator.policies import RetrainingPolicy

if os.environ.get("LAB_PLUGIN_MISBEHAVE"):
    time.sleep(60)


class Eager(RetrainingPolicy):
    """Would retrain every day."""

    def should_retrain(self, view):
        return True


class MyDomain(Domain):
    """Would be a domain."""

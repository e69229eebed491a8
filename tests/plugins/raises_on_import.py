"""A plug-in module that raises while it is imported (a setting it expects is missing).

It misbehaves only when ``LAB_PLUGIN_MISBEHAVE`` is set (the tests set it):
pytest imports every module under tests/ to look for doctests.
"""
import os

from simulator.policies import RetrainingPolicy

SETTINGS = {} if os.environ.get("LAB_PLUGIN_MISBEHAVE") else {"threshold": 0.2}
THRESHOLD = SETTINGS["threshold"]  # KeyError when armed


class Eager(RetrainingPolicy):
    """Would retrain every day."""

    def should_retrain(self, view):
        return True

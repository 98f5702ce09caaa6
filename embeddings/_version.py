"""The version of transferkit (one home: the package and the cache read it here)."""

__version__ = "0.1.0"

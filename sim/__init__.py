"""LimitLab: an agent-based simulator of an online credit platform's portfolio.

The import package is ``sim``; the distribution is ``limitlab``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("limitlab")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

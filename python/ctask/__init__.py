"""ctask: workspaces and recorded sessions for AI-agent work."""

from ctask._ctask import __version__

__all__ = ["__version__"]

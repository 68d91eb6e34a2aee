"""The ``jzgr`` command: one entry point that mounts each part's commands."""

__version__ = "0.1.0"

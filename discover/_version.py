"""The package version, in a module of its own so that any module can read it without
importing ``discover`` (whose lazy attributes load the agent): keep it equal to
``version`` in pyproject.toml."""

__version__ = "0.1.0"

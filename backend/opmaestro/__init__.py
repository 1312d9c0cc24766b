"""OpMaestro account and privacy platform."""

__version__ = "0.1.0"

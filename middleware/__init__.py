"""Candor: the compliance engine and the ASGI proxy."""

__version__ = "0.1.0"

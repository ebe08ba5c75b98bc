"""Guanxi (关系) — an open-source CRM for small and mid-sized companies."""

__version__ = "0.1.0"

"""Use-case services: they see ports (domain/ports.py) and pure helpers, never adapters."""

"""Validate, model and document libvirt's guest state capture formats."""

__version__ = "0.1.0"

"""Detector models."""

from pfdet.links.model import pfdet  # NOQA

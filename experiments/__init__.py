"""Experiment configs: plain-Python ``config = dict(...)`` files (see ``pfdet.training.config``)."""

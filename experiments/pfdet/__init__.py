"""PFDet configs: ``base.py`` (full scale), ``toy_base.py`` (embedded data on CPU), deltas."""

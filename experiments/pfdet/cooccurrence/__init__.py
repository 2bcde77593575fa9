"""Table 4 of the poster at the final schedule: the complete recipe without the co-occurrence loss.

Ablation rows 4 and 5 differ only by the co-occurrence loss, but at toy scale they train
for the short schedule (rows 0-5, ``SHORT_SCHEDULE``), too short for the small part
classes to be learnt at all. The poster's Table 4 ("ablative study of co-occurrence loss")
does not say which models it compares; here it is also measured on fully trained models:
``00_context_head_without_cooccurrence.py`` is ablation row 7 (the complete recipe,
final schedule) with the co-occurrence loss switched off, and ``experiments/make_table.py``
compares it with row 7 class by class. Nothing else differs (same seeds, same data).

A row module defines ``ROW``, ``PREVIOUS`` (the row it is compared with is ``WITH``),
``config`` / ``toy_config`` (a train row, as the ablation rows) and ``WITH``.
"""

import importlib
import os
import re

_ROW_FILE = re.compile(r'^(\d\d)_[a-z0-9_]+\.py$')


def row_names():
    """Stems of the row files."""
    here = os.path.dirname(os.path.abspath(__file__))
    return sorted(os.path.splitext(f)[0] for f in os.listdir(here) if _ROW_FILE.match(f))


def load_row(name):
    """The module of a row, by file stem."""
    if name not in row_names():
        raise ValueError('unknown co-occurrence row {!r}; rows: {}'.format(
            name, ', '.join(row_names())))
    return importlib.import_module('{}.{}'.format(__name__, name))

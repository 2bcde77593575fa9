"""Table 4 of the poster at the final schedule: the complete recipe without the co-occurrence loss.

Ablation rows 4 and 5 differ only by the co-occurrence loss, but at toy scale they train
for the short schedule (rows 0-5, ``SHORT_SCHEDULE``), too short for the small part
classes to be learnt at all. The poster's Table 4 ("ablative study of co-occurrence loss")
does not say which models it compares; here it is also measured on fully trained models:
``00_context_head_without_cooccurrence.py`` is ablation row 7 (the complete recipe,
final schedule) with the co-occurrence loss switched off, and ``experiments/make_table.py``
compares it with row 7 class by class. Nothing else differs (same seeds, same data).

The other pairs repeat that comparison on variants of the embedded data, to test whether
the loss's AP effect depends on *how* parts go unannotated (toy scale only: ``SCALES``):

* ``01``/``02``: verification follows salience (``q = (0.05, 0.6)`` with subjects drawn
  0.7-1.4x: a part class is verified in 5 % of the images where its largest instance is
  small and 60 % where it is large; 33 % on average). Open Images' labels to verify were
  proposed by image classifiers, which propose prominent objects.
* ``03``/``04``: sparser verification, ``q = 0.15`` in every image (0.3 elsewhere).
* ``05``/``06``: the default data, twice the final schedule (600 updates).

A row module defines ``ROW``, ``PREVIOUS`` (None), ``toy_config`` and, for a train row at
full scale too, ``config`` (rows without one declare ``SCALES = ('toy',)``); a "without"
row names the row it is compared with in ``WITH``.
"""

import importlib
import os
import re

_ROW_FILE = re.compile(r'^(\d\d)_[a-z0-9_]+\.py$')


def data_variant(config, name, **params):
    """``config`` on another embedded dataset: ``data/<name>``, generated with ``params``."""
    from pfdet.training import deep_update
    return deep_update(config, {'dataset': {
        'root': 'data/' + name,
        'synthetic': dict(config['dataset']['synthetic'], params=dict(params))}})


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

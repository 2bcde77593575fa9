"""The config of ``make demo``: toy PFDet on the embedded dataset, 2 ranks on a 2-core CPU.

``examples/demo.py`` generates the dataset into ``dataset.root``, trains with
``mpiexec -n 2 examples/train_multi.py --config experiments/demo.py``, then evaluates on the
validation split with the OID challenge metric.
"""

from experiments.pfdet.toy_base import config as _base
from pfdet.training import deep_update

config = deep_update(_base, dict(
    dataset=dict(root='result/demo/data'),
))

"""The config of ``make demo``: toy PFDet on the embedded dataset, 2 ranks on a 2-core CPU.

``examples/demo.py`` generates the dataset into ``dataset.root`` (1,500 train + 300
validation images, ``dataset.synthetic``), trains with ``mpiexec -n 2
examples/train_multi.py --config experiments/demo.py``, then evaluates on the whole
validation split with the OID challenge metric.

Deltas from ``toy_base.py``, chosen for the 10-minute budget on 2 cores: narrower FPN (32)
and head (128), 112-144 px training scales (test 128), half-size anchors added for the
small parts (faces, hands, wheels), 64 sampled RoIs per image, a higher learning rate
(lr0 = 0.08 x 8 / 16 = 0.04), 2 epochs, and repeat-factor sampling (t = 0.1: images of
classes rarer than 10 % of the images are drawn up to ~4x more often; 20 of the 51
validation classes have at most 4 boxes, and the mAP is their mean with the others); the
in-training evaluation uses the first 100 validation images once per epoch.
"""

from experiments.pfdet.toy_base import config as _base
from pfdet.training import deep_update

config = deep_update(_base, dict(
    dataset=dict(root='result/demo/data'),
    model=dict(fpn_channels=32, head_fc_channels=128, min_size=128, max_size=192,
               anchor_scales=(0.5, 1)),
    train_chain=dict(head_n_sample=64, rpn_n_sample=128),
    train=dict(epoch=2, scales=(112, 128, 144), max_size=192, base_lr=0.08,
               warmup_iteration=30, sampler='repeat_factor', repeat_thresh=0.1),
    eval=dict(interval=(1, 'epoch'), n_images=100),
    log=dict(interval=(10, 'iteration'), snapshot_interval=(1, 'epoch'), keep_snapshots=1,
             progress_update_interval=10),
))

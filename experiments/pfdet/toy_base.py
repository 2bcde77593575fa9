"""PFDet on the embedded synthetic dataset, sized for a 2-core CPU (the demo's base).

The same recipe as ``base.py`` (sigmoid classifier with hierarchical targets, multi-node BN
over the ranks, cosine schedule with warm-up, multi-scale training, co-occurrence loss) on
a tiny SE-ResNeXt-like backbone, small FPN/head widths and ~160-px images. The dataset
directory is written by ``python -m pfdet.datasets.synthetic --out DIR`` (``make demo``
does it). Differences from ``base.py`` are hyper-parameters of scale only.
"""

from experiments.pfdet.base import config as _base
from pfdet.training import deep_update

config = deep_update(_base, dict(
    dataset=dict(
        root='data/embedded',
        train_split='train',
        val_split='validation',
        train=dict(bbox_csv=None, image_dir=None, image_labels_csv=None),
        val=dict(bbox_csv=None, image_dir=None, image_labels_csv=None),
        class_list=None,           # root/class-descriptions.csv
        hierarchy=None,            # root/hierarchy.json
        n_val_images=None,
        synthetic=dict(n_train=1500, n_val=300, seed=0),   # examples/demo.py generates it
    ),
    model=dict(
        backbone='se_resnext_tiny',
        psp=False,
        extra_fpn_scale=False,
        context_head=False,
        bn='multi_node',
        head_bn=False,
        fpn_channels=64,
        head_fc_channels=256,
        freeze=(),
        min_size=160,
        max_size=256,
    ),
    train_chain=dict(
        cooccurrence='hierarchy_parts',
        head_n_sample=128,
    ),
    train=dict(
        batchsize=8,               # global: 4 images per rank on 2 ranks
        iteration=None,
        epoch=4,
        base_lr=0.02,
        base_batchsize=16,
        warmup_iteration=50,
        scales=(128, 144, 160, 176, 192),
        max_size=256,
        # SerialIterator: reading a 160-px JPEG takes ~1 ms against ~1 s for a training
        # step, worker processes would compete with the 2 ranks for the 2 cores, and the
        # serial iterator makes a resumed run reproduce the uninterrupted one exactly.
        iterator='serial',
        n_processes=None,
        shared_mem=None,
    ),
    mpi=dict(communicator=None, gpu=False),
    eval=dict(interval=(1, 'epoch'), batchsize=4),
    log=dict(interval=(10, 'iteration'), snapshot_interval=(1, 'epoch'), keep_snapshots=2,
             progress_update_interval=1),
))

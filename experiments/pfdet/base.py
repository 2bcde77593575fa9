"""PFDet at full scale: Open Images Challenge 2018, SE-ResNeXt-101 FPN, batch 512 on 512 GPUs.

The starting configuration of ``pfdet.md`` §7. Stated by the sources: SE-ResNeXt-101 FPN,
sigmoid classifier, multi-node BN, batch 512, cosine annealing, multi-scale training, the
fifth FPN scale, the co-occurrence loss, 16 epochs, the context head, NMW at test time.
Design choices (the sources are silent): everything else, in particular the learning rate
(ChainerCV's linear scaling rule 0.02 x B / 16 = 0.64), the 500-iteration warm-up and the
training scales 640-800.

An ablation row is a small delta of this file::

    from experiments.pfdet.base import config as _base
    from pfdet.training import deep_update

    config = deep_update(_base, {'model': {'context_head': False}})

Run (GPUs, one process per GPU)::

    mpiexec -n 512 python examples/train_multi.py --config experiments/pfdet/base.py \\
        --out result/pfdet_base

Paths are relative to the working directory; the Open Images Challenge 2018 files are
expected under ``data/open_images/`` (override them in a delta file).
"""

_OID = 'data/open_images/'

config = dict(
    seed=0,
    dataset=dict(
        root=None,
        train_split='train',
        val_split='validation',
        train=dict(
            bbox_csv=_OID + 'challenge-2018-train-annotations-bbox.csv',
            image_dir=_OID + 'train',
            image_labels_csv=_OID + 'challenge-2018-train-annotations-human-imagelabels.csv'),
        val=dict(
            bbox_csv=_OID + 'validation-annotations-bbox.csv',
            image_dir=_OID + 'validation',
            image_labels_csv=_OID + 'validation-annotations-human-imagelabels.csv'),
        class_list=_OID + 'challenge-2018-class-descriptions-500.csv',
        hierarchy=_OID + 'bbox_labels_500_hierarchy.json',
        skip_invalid=False,
        n_train_images=None,
        n_val_images=None,
        synthetic=None,
    ),
    model=dict(
        backbone='se_resnext101',
        psp=True,
        extra_fpn_scale=True,
        context_head=True,
        context_scale=2 ** 0.5,
        anchor_scales=(1,),
        anchor_ratios=(0.5, 1, 2),
        classifier='sigmoid',
        bn='multi_node',
        head_bn=True,
        suppression='nmw',
        min_size=800,
        max_size=1333,
        pretrained_model=None,            # npz of a whole PFDet model (fine-tuning)
        backbone_pretrained_model=None,   # local ImageNet npz of the backbone, if available
        fpn_channels=256,
        head_fc_channels=1024,
        freeze=('conv1',),                # no update, frozen BN (ChainerCV also freezes res2)
        extra=dict(),
    ),
    train_chain=dict(
        hierarchical_targets=True,
        cooccurrence='mine',
        cooccurrence_mining=dict(),
        cooc_ioa_thresh=1.0,
        cooc_unless_verified=True,
        cooc_ignore_weight=0.,            # PFDet: the selected entries are ignored
        cooc_pseudo_box_iou=None,         # PFDet: all of them (not only near pseudo-boxes)
        cooc_pseudo_box_min_score=None,   # (only with the IoU above)
        cooc_reweight=False,              # PFDet: kept entries weigh 1 (not 1 / ann(p | s))
        head_n_sample=512,
        head_fg_ratio=0.25,
        head_fg_thresh=0.5,
        conf_normalize='roi',
        rpn_n_sample=256,
        extra=dict(),
    ),
    train=dict(
        batchsize=512,               # global: 1 image per GPU on 512 GPUs
        iteration=None,
        epoch=16,
        base_lr=0.02,                # lr0 = base_lr * batchsize / base_batchsize = 0.64
        base_batchsize=16,
        lr_schedule='cosine',
        lr_steps=(),
        lr_step_factor=0.1,
        warmup_iteration=500,
        warmup_ratio=1 / 3,
        momentum=0.9,
        weight_decay=1e-4,
        scales=(640, 672, 704, 736, 768, 800),
        max_size=1333,
        flip=True,
        sampler='shuffle',           # or 'class_aware', 'repeat_factor' (LVIS)
        repeat_thresh=0.1,           # t of repeat-factor sampling
        iterator='multiprocess',
        n_processes=2,
        shared_mem=100 * 1000 * 1000 * 4,
        stop_on_nonfinite=True,
    ),
    mpi=dict(
        communicator=None,           # None: pure_nccl on GPUs, naive on CPU
        gpu=True,
    ),
    eval=dict(
        interval=(2, 'epoch'),
        n_images=None,               # in-training evaluation on all validation images
        batchsize=1,
        preset='evaluate',
        score_thresh=None,
        nms_thresh=None,             # the preset's: 0.55 with NMW, 0.5 with NMS
        expand_hierarchy=True,
    ),
    log=dict(
        interval=(20, 'iteration'),
        snapshot_interval=(1000, 'iteration'),
        keep_snapshots=3,
        plot=True,
        progress_bar=True,
        progress_update_interval=10,
    ),
)

"""Evaluate a trained PFDet with the Open Images Challenge metric (one or several processes).

Usage::

    mpiexec -n 2 python examples/evaluate.py --config experiments/demo.py \\
        --model result/demo/train/model_final.npz --out result/demo/eval

    # Kaggle submission for unannotated images (no metric)
    mpiexec -n 8 python examples/evaluate.py --config experiments/pfdet/base.py \\
        --model model_final.npz --image-dir data/open_images/test --out result/test

Rank 0 reads the data and scatters the batches, every rank predicts, rank 0 gathers the
predictions (``chainercv.utils.apply_to_iterator(..., comm=comm)``) and computes the metric
once over all images (``pfdet.evaluations.eval_detection_oid``; the ground truth is the
hierarchy-expanded validation split of the config). Rank 0 prints the per-class table and
writes to ``--out``:

* ``detections.csv``: every detection in the official evaluator's prediction format
  ``ImageID,LabelName,Score,XMin,XMax,YMin,YMax`` (normalized coordinates; the input of
  ``pfdet.evaluations.oid_challenge`` and ``examples/ensemble.py``);
* ``per_class_ap.csv``: ``LabelName,Name,AP,NumGT`` (AP empty when the class has no
  ground-truth box; ``NumGT`` counts the hierarchy-expanded validation boxes);
* ``submission.csv``: Kaggle format ``ImageId,PredictionString``;
* ``result.json``: mAP, number of images and detections, settings.

``--model`` accepts ``model_final.npz`` or a trainer snapshot (``snapshot_iter_N``).
"""

import argparse
import glob
import json
import os
import sys
import time
import warnings

import numpy as np

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

import chainer  # NOQA: E402
from chainercv.utils import apply_to_iterator  # NOQA: E402
from chainercv.utils import read_image  # NOQA: E402

from pfdet.training import builder  # NOQA: E402
from pfdet.training import ConfigError  # NOQA: E402
from pfdet.training import install_abort_on_error  # NOQA: E402
from pfdet.training import load_config  # NOQA: E402
from pfdet.training import load_model  # NOQA: E402
from pfdet.training import SnapshotError  # NOQA: E402

warnings.filterwarnings('ignore', message=r'.* is experimental\.', category=FutureWarning)

_IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.JPG', '.JPEG', '.PNG')


def _env_rank():
    for key in ('OMPI_COMM_WORLD_RANK', 'PMI_RANK', 'PMIX_RANK'):
        if key in os.environ:
            return int(os.environ[key])
    return 0


class ImageDirDataset(chainer.dataset.DatasetMixin):
    """The images of a directory (sorted by name), for predictions without annotations."""

    def __init__(self, image_dir):
        if not os.path.isdir(image_dir):
            raise ConfigError('--image-dir: not a directory: {}'.format(image_dir))
        self.paths = sorted(p for p in glob.glob(os.path.join(image_dir, '*'))
                            if p.endswith(_IMAGE_EXTS))
        if not self.paths:
            raise ConfigError('--image-dir: no image ({}) in {}'.format(
                ', '.join(_IMAGE_EXTS[:3]), image_dir))
        self.image_ids = [os.path.splitext(os.path.basename(p))[0] for p in self.paths]

    def __len__(self):
        return len(self.paths)

    def get_example(self, i):
        return read_image(self.paths[i], color=True)


def format_table(class_mids, class_names, ap, n_gt, mean_ap):
    """The per-class table (one line per class with ground truth), as a string."""
    width = max([len(n) for n in class_names] + [10])
    lines = ['{:<12} {:<{w}} {:>7} {:>7}'.format('LabelName', 'Name', 'n_gt', 'AP', w=width)]
    for mid, name, a, n in zip(class_mids, class_names, ap, n_gt):
        if n == 0:
            continue
        lines.append('{:<12} {:<{w}} {:>7d} {:>7.4f}'.format(mid, name, int(n), a, w=width))
    n_class = int(np.sum(~np.isnan(ap)))
    lines.append('mAP (OID challenge metric, {} classes with ground truth): {:.4f}'.format(
        n_class, mean_ap))
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate PFDet (OID challenge metric).')
    parser.add_argument('--config', required=True, help='the training config file')
    parser.add_argument('--model', required=True,
                        help='model_final.npz or a trainer snapshot')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument('--split', choices=('val', 'train'), default='val')
    parser.add_argument('--image-dir', default=None,
                        help='predict these images instead (submission only, no metric)')
    parser.add_argument('--n-images', type=int, default=None,
                        help='evaluate the first N images only')
    parser.add_argument('--batchsize', type=int, default=None,
                        help='images per batch (default: eval.batchsize of the config)')
    parser.add_argument('--communicator', default=None,
                        help='ChainerMN communicator (default as in train_multi.py)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as e:
        if _env_rank() == 0:
            sys.stderr.write('error: {}\n'.format(e))
        sys.exit(2)

    import chainermn
    gpu = config['mpi']['gpu']
    name = args.communicator or config['mpi']['communicator'] or \
        ('pure_nccl' if gpu else 'naive')
    comm = chainermn.create_communicator(name)
    install_abort_on_error(comm)
    rank = comm.rank

    def fail(message):
        if rank == 0:
            sys.stderr.write('error: {}\n'.format(message))
        sys.exit(2)

    try:
        classes = builder.load_classes(config)
        model = builder.build_model(config, len(classes), comm, pretrained_model=None)
        load_model(args.model, model)
        dataset = None
        if rank == 0:
            if args.image_dir:
                dataset = ImageDirDataset(args.image_dir)
            else:
                dataset = builder.build_dataset(
                    config, args.split, classes,
                    expand_hierarchy=config['eval']['expand_hierarchy'])
            if args.n_images is not None:
                ids = dataset.image_ids[:args.n_images]
                dataset = dataset.slice[:args.n_images] if hasattr(dataset, 'slice') else \
                    chainer.datasets.SubDataset(dataset, 0, min(args.n_images, len(dataset)))
                dataset.image_ids = ids
    except (ConfigError, SnapshotError) as e:
        fail(e)
    if gpu:
        chainer.backends.cuda.get_device_from_id(comm.intra_rank).use()
        model.to_gpu()
    builder.use_eval_preset(model, config)

    start = time.time()
    if rank != 0:
        apply_to_iterator(model.predict, None, comm=comm)
        return
    batchsize = args.batchsize or config['eval']['batchsize']
    if args.image_dir:
        it = chainer.iterators.SerialIterator(dataset, batchsize, repeat=False, shuffle=False)
    else:
        it = chainer.iterators.SerialIterator(
            dataset.slice[:, ('img', 'bbox', 'label', 'is_group_of', 'img_label')],
            batchsize, repeat=False, shuffle=False)
    in_values, out_values, rest_values = apply_to_iterator(model.predict, it, comm=comm)
    sizes = [img.shape[1:] for img in in_values[0]] if isinstance(in_values, tuple) \
        else [img.shape[1:] for img in in_values]
    pred_bboxes, pred_labels, pred_scores = (list(v) for v in out_values)
    elapsed = time.time() - start
    os.makedirs(args.out, exist_ok=True)

    from pfdet.datasets import oid_io
    predictions = oid_io.arrays_to_predictions(
        (pred_bboxes, pred_labels, pred_scores), dataset.image_ids, classes.mids, sizes)
    detections = os.path.join(args.out, 'detections.csv')
    oid_io.write_predictions_csv(detections, predictions, float_format='%.6g')
    submission = os.path.join(args.out, 'submission.csv')
    oid_io.write_submission(submission, predictions, image_ids=dataset.image_ids)
    n_det = int(sum(len(b) for b in pred_bboxes))
    result = {'config': args.config, 'model': args.model, 'n_images': len(sizes),
              'n_detections': n_det, 'n_ranks': comm.size,
              'predict_seconds': round(elapsed, 2), 'detections': detections,
              'submission': submission,
              # the post-processing the detections went through (preset + config overrides)
              'postprocess': {'suppression': model.bbox_head.suppression,
                              'iou_thresh': float(model.nms_thresh),
                              'score_thresh': float(model.score_thresh),
                              'max_n_detection': int(model.max_n_detection)}}

    if not args.image_dir:
        from pfdet.evaluations import eval_detection_oid
        gt_bboxes, gt_labels, gt_is_group_ofs, gt_img_labels = (list(v) for v in rest_values)
        metric = eval_detection_oid(pred_bboxes, pred_labels, pred_scores, gt_bboxes,
                                    gt_labels, gt_is_group_ofs, gt_img_labels,
                                    n_class=len(classes))
        ap = metric['ap']
        n_gt = np.bincount(np.concatenate([np.asarray(lb, np.int64) for lb in gt_labels]
                                          + [np.zeros(0, np.int64)]),
                           minlength=len(classes))
        print(format_table(classes.mids, classes.names, ap, n_gt, metric['map']))
        import pandas as pd
        per_class = os.path.join(args.out, 'per_class_ap.csv')
        pd.DataFrame({'LabelName': classes.mids, 'Name': classes.names, 'AP': ap,
                      'NumGT': n_gt}).to_csv(per_class, index=False, float_format='%.6f')
        result.update({'map': float(metric['map']), 'split': args.split,
                       'n_classes_with_gt': int(np.sum(~np.isnan(ap))),
                       'per_class_ap': per_class})
    with open(os.path.join(args.out, 'result.json'), 'w') as f:
        json.dump(result, f, indent=1)
    print('evaluate: {} images, {} detections, {:.1f} s on {} rank(s); wrote {}'.format(
        len(sizes), n_det, elapsed, comm.size, args.out))
    if 'map' in result:
        print('mAP: {:.4f}'.format(result['map']))


if __name__ == '__main__':
    main()

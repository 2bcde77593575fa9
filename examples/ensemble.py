"""Merge the detections of several models (ensemble, experts) and evaluate.

Reads the ``detections.csv`` (and ``per_class_ap.csv``) that
``examples/evaluate.py --out DIR`` writes for each model, merges them with
:func:`pfdet.ensemble.ensemble_detections` ("concat, then suppress", with
PFDet's class-weight ensemble when per-class APs are given) and writes::

    OUT/detections.csv     merged predictions (evaluator format)
    OUT/submission.csv     Kaggle ImageId,PredictionString (every image)
    OUT/per_class_ap.csv   LabelName,Name,AP,NumGT   (with --gt-boxes)
    OUT/metrics.csv        official metric names     (with --gt-boxes)
    OUT/ensemble.json      arguments and drop counts

Example (general model + one expert, class weights from validation APs)::

    python examples/ensemble.py \\
        --detections result/general/eval/detections.csv \\
                     result/class20/eval/detections.csv \\
        --per-class-ap result/general/eval/per_class_ap.csv \\
                       result/class20/eval/per_class_ap.csv \\
        --expert-classes - result/experts/class20/class-descriptions.csv \\
        --method nmw --class-list data/embedded/class-descriptions.csv \\
        --gt-boxes data/embedded/validation-annotations-bbox.csv \\
        --gt-labels \\
            data/embedded/validation-annotations-human-imagelabels.csv \\
        --hierarchy data/embedded/hierarchy.json --out result/ensemble

Exit status 0 on success, 2 on bad input (the message names the file and
line).
"""

import argparse
import json
import os
import sys

import numpy as np
import pandas as pd

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from pfdet import ensemble  # NOQA: E402
from pfdet.datasets import oid_io  # NOQA: E402


def _image_ids(args, merged):
    """Every image of the submission: --images, else GT and detections."""
    ids = []
    if args.images is not None:
        if os.path.isdir(args.images):
            names = sorted(os.listdir(args.images))
            ids = [os.path.splitext(n)[0] for n in names
                   if os.path.splitext(n)[1].lower() in
                   ('.jpg', '.jpeg', '.png')]
        else:
            table = pd.read_csv(args.images, dtype=str,
                                keep_default_na=False)
            col = 'ImageID' if 'ImageID' in table.columns else (
                'ImageId' if 'ImageId' in table.columns else None)
            if col is None:
                raise oid_io.OIDFormatError(
                    args.images, 1, 'needs an ImageID (or ImageId) column')
            ids = list(table[col])
        if not ids:
            raise ValueError('--images {}: no image found'.format(
                args.images))
    else:
        for path, reader in ((args.gt_boxes, oid_io.read_bbox_csv),
                             (args.gt_labels, oid_io.read_image_labels_csv)):
            if path is not None:
                ids.extend(reader(path, allow_duplicates=True)['ImageID'])
    ids = pd.unique(np.asarray(list(ids) + list(merged['ImageID']),
                               dtype=object))
    extra = ~pd.Index(pd.unique(merged['ImageID'])).isin(ids)
    if args.images is not None and extra.any():
        raise ValueError('detections on image {!r}, which is not in --images '
                         '{}'.format(pd.unique(merged['ImageID'])[extra][0],
                                     args.images))
    return list(ids)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Merge detection files of several models (PFDet '
        'class-weight ensemble, expert models) and evaluate the result.')
    parser.add_argument('--detections', nargs='+', required=True,
                        metavar='CSV', help='detections.csv of each model')
    parser.add_argument('--per-class-ap', nargs='+', default=None,
                        metavar='CSV', help='per_class_ap.csv of each model '
                        '(class weights = relative validation AP)')
    parser.add_argument('--weights', nargs='+', type=float, default=None,
                        help='per-model weights (divided by the largest)')
    parser.add_argument('--expert-classes', nargs='+', default=None,
                        metavar='FILE', help="per model: '-' for a general "
                        'model, else the expert\'s class list')
    parser.add_argument('--expert-mode', choices=ensemble.EXPERT_MODES,
                        default='augment', help='augment: concatenate then '
                        "suppress; replace: an expert's classes come only "
                        'from experts (default augment)')
    parser.add_argument('--method', choices=list(ensemble.SUPPRESSIONS),
                        default='nmw', help='suppression (default nmw)')
    parser.add_argument('--iou-thresh', type=float, default=None,
                        help='suppression IoU threshold (default: the '
                        "method's, 0.55 for nmw, 0.5 otherwise)")
    parser.add_argument('--normalize', choices=ensemble.NORMALIZATIONS,
                        default='max', help='class weights: AP / max AP '
                        '(default) or AP / sum of APs')
    parser.add_argument('--min-fraction', type=float, default=0.,
                        help='zero the class weight of a model whose AP is '
                        'below this fraction of the best')
    parser.add_argument('--score-thresh', type=float, default=None)
    parser.add_argument('--max-per-image', type=int, default=None)
    parser.add_argument('--class-list', default=None,
                        help='label map (.pbtxt) or class descriptions: the '
                        'known classes (needed for evaluation)')
    parser.add_argument('--gt-boxes', default=None,
                        help='ground-truth boxes CSV (evaluates the merge)')
    parser.add_argument('--gt-labels', default=None,
                        help='ground-truth image-level labels CSV')
    parser.add_argument('--hierarchy', default=None,
                        help='hierarchy JSON: expand the ground truth first '
                        '(omit when it is already expanded)')
    parser.add_argument('--eval-iou-thresh', type=float, default=0.5)
    parser.add_argument('--images', default=None,
                        help='all images of the submission: a directory or '
                        'a CSV with an ImageID column (default: the ground '
                        'truth and detected images)')
    parser.add_argument('--skip-invalid', action='store_true',
                        help='drop and count bad rows instead of failing')
    parser.add_argument('--out', required=True, help='output directory')
    args = parser.parse_args(argv)

    if (args.gt_boxes is None) != (args.gt_labels is None):
        parser.error('--gt-boxes and --gt-labels go together')
    if args.gt_boxes is not None and args.class_list is None:
        parser.error('evaluation (--gt-boxes) needs --class-list')
    experts = None
    if args.expert_classes is not None:
        experts = [None if e == '-' else e for e in args.expert_classes]
    try:
        class_mids = None
        if args.class_list is not None:
            class_mids = oid_io.read_class_list(args.class_list)
        merged, stats = ensemble.ensemble_detections(
            args.detections, per_class_ap=args.per_class_ap,
            model_weights=args.weights, method=args.method,
            iou_thresh=args.iou_thresh, normalize=args.normalize,
            min_fraction=args.min_fraction, expert_classes=experts,
            expert_mode=args.expert_mode, class_mids=class_mids,
            score_thresh=args.score_thresh,
            max_per_image=args.max_per_image,
            skip_invalid=args.skip_invalid)
        image_ids = _image_ids(args, merged)
    except (ValueError, OSError) as e:
        parser.exit(2, 'error: {}\n'.format(e))

    os.makedirs(args.out, exist_ok=True)
    det_path = os.path.join(args.out, 'detections.csv')
    oid_io.write_predictions_csv(det_path, merged)
    oid_io.write_submission(os.path.join(args.out, 'submission.csv'), merged,
                            image_ids=image_ids)
    print('merged {} models: {} -> {} detections on {} images ({})'.format(
        len(args.detections), stats['n_suppressed_input'],
        stats['n_output'], len(image_ids), args.method))
    dropped = {k: v for k, v in stats.items()
               if k.startswith('n_') and k not in (
                   'n_input', 'n_suppressed_input', 'n_output', 'n_image')
               and np.sum(v)}
    if dropped:
        print('dropped rows: {}'.format(', '.join(
            '{}={}'.format(k[2:], v) for k, v in dropped.items())))
    summary = {'args': vars(args), 'stats': stats}
    if args.gt_boxes is not None:
        try:
            result = ensemble.evaluate_detections(
                det_path, args.gt_boxes, args.gt_labels, args.class_list,
                hierarchy=args.hierarchy, iou_thresh=args.eval_iou_thresh)
        except (ValueError, OSError) as e:
            parser.exit(2, 'error: {}\n'.format(e))
        ensemble.write_per_class_ap(
            os.path.join(args.out, 'per_class_ap.csv'), result['per_class'])
        from pfdet.evaluations.oid_challenge import write_metrics_csv
        write_metrics_csv(os.path.join(args.out, 'metrics.csv'),
                          result['metrics'])
        table = result['per_class']
        table = table[~np.isnan(table['AP'].to_numpy())]
        for row in table.itertuples(index=False):
            print('{:<24s} {:>6.4f}  ({} GT)'.format(
                str(row.Name)[:24], row.AP, row.NumGT))
        print('mAP: {:.4f} over {} classes with ground truth'.format(
            result['map'], len(table)))
        summary['map'] = result['map']
    with open(os.path.join(args.out, 'ensemble.json'), 'w') as f:
        json.dump(summary, f, indent=1, default=str)
        f.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())

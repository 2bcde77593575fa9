"""Open Images Challenge detection evaluation of CSV files.

A drop-in replacement of the official tool
``object_detection/metrics/oid_challenge_evaluation.py`` of the TensorFlow
Object Detection API (same flags, input files, metric names and output
CSV), built on :func:`pfdet.evaluations.eval_detection_oid`::

    python -m pfdet.evaluations.oid_challenge \\
        --input_annotations_boxes validation-bbox-expanded.csv \\
        --input_annotations_labels validation-labels-expanded.csv \\
        --input_class_labelmap label_map.pbtxt \\
        --input_predictions predictions.csv \\
        --output_metrics metrics.csv

As in the official workflow, the ground-truth CSVs must already be expanded
with the class hierarchy; predictions are used as given. The label map may
also be a class-descriptions CSV (``MID,Name``, ids 1..C in file order).
"""

import argparse
import collections
import csv
import sys
import unicodedata

import numpy as np
import pandas as pd

from pfdet.datasets import oid_io
from pfdet.evaluations.eval_detection_oid import _entries_from_flat
from pfdet.evaluations.eval_detection_oid import _nanmean
from pfdet.evaluations.eval_detection_oid import ap_from_entries

METRIC_PREFIX = 'OpenImagesDetectionChallenge_'


def read_class_map(path):
    """Class MIDs and their ids from a label map or class-descriptions CSV.

    Args:
        path (str): An official label map (``.pbtxt``, ids as given) or a
            class-descriptions CSV (``MID,Name``, no header; ids ``1..C`` in
            file order).

    Returns:
        tuple: ``(mids, ids)``, a list of str and an int array, by id.

    """
    if str(path).endswith('.pbtxt'):
        mids, ids, _ = oid_io.read_label_map(path)
    else:
        mids, _ = oid_io.read_class_descriptions(path)
        ids = list(range(1, len(mids) + 1))
    if not mids:
        raise oid_io.OIDFormatError(path, None, 'no class found')
    ids = np.asarray(ids, dtype=np.int64)
    if ids.min() < 1:
        raise oid_io.OIDFormatError(
            path, None, 'class ids must start at 1, found {}'.format(
                ids.min()))
    return list(mids), ids


def metric_names(mids, ids, iou_thresh=0.5):
    """Names of the official metrics, in the official output order.

    Args:
        mids (list of str): Class MIDs.
        ids (array of int): Their ids (1-based).
        iou_thresh (float): The matching threshold.

    Returns:
        list of str: ``OpenImagesDetectionChallenge_Precision/mAP@0.5IOU``
        then ``OpenImagesDetectionChallenge_PerformanceByCategory/
        AP@0.5IOU/<MID>`` by increasing id.

    """
    names = [METRIC_PREFIX + 'Precision/mAP@{}IOU'.format(iou_thresh)]
    for i in np.argsort(ids, kind='stable'):
        names.append(
            METRIC_PREFIX + 'PerformanceByCategory/AP@{}IOU/{}'.format(
                iou_thresh, unicodedata.normalize('NFKD', mids[i])))
    return names


def evaluate_oid_challenge(boxes_path, labels_path, class_map_path,
                           predictions_path, iou_thresh=0.5):
    """Evaluate a predictions CSV like the official challenge tool.

    Only images that have ground truth (a box or an image-level label) are
    evaluated; predictions on other images are ignored and counted.

    Args:
        boxes_path (str): Hierarchy-expanded box CSV (2018 or 2019 format).
        labels_path (str): Hierarchy-expanded image-level labels CSV.
        class_map_path (str): Label map (``.pbtxt``) or class descriptions.
        predictions_path (str): ``ImageID,LabelName,Score,XMin,XMax,YMin,
            YMax`` (normalized coordinates, with header).
        iou_thresh (float): Matching threshold (0.5 in the challenge).

    Returns:
        tuple: ``(metrics, stats)``. ``metrics`` is an ordered dict from the
        official metric names to floats (NaN for a class without ground
        truth); ``stats`` a dict of counts (``n_image``, ``n_box``,
        ``n_image_label``, ``n_prediction``, ``n_prediction_ignored``,
        ``n_image_ignored``, ``n_class_with_gt``).

    Raises:
        pfdet.datasets.OIDFormatError: On a malformed file or a class MID
            absent from the label map; the message names the file and line.

    """
    mids, ids = read_class_map(class_map_path)
    n_class = int(ids.max())
    mid_index = pd.Index(mids)
    boxes = oid_io.read_bbox_csv(boxes_path, known_mids=mids,
                                 allow_duplicates=True)
    labels = oid_io.read_image_labels_csv(labels_path, known_mids=mids,
                                          allow_duplicates=True)
    preds = oid_io.read_predictions_csv(predictions_path)

    def class_of(df, path):
        pos = mid_index.get_indexer(df['LabelName'])
        if (pos < 0).any():
            row = int(np.argmax(pos < 0))
            raise oid_io.OIDFormatError(
                path, _physical_line(path, row),
                'class {!r} is not in the label map {}'.format(
                    df['LabelName'].iloc[row], class_map_path))
        return ids[pos] - 1

    gt_images = pd.Index(pd.unique(np.concatenate(
        [boxes['ImageID'].to_numpy(dtype=object),
         labels['ImageID'].to_numpy(dtype=object)])))
    pred_img = gt_images.get_indexer(preds['ImageID'])
    pred_label = class_of(preds, predictions_path)
    on_gt = pred_img >= 0
    n_image_ignored = int(preds['ImageID'][~on_gt].nunique())
    preds = preds[on_gt]

    scores, entry_labels, is_tp, n_pos = _entries_from_flat(
        preds[['YMin', 'XMin', 'YMax', 'XMax']].to_numpy(np.float64),
        pred_label[on_gt], preds['Score'].to_numpy(np.float64),
        pred_img[on_gt],
        boxes[['YMin', 'XMin', 'YMax', 'XMax']].to_numpy(np.float64),
        class_of(boxes, boxes_path),
        boxes['IsGroupOf'].to_numpy() != 0,
        gt_images.get_indexer(boxes['ImageID']),
        class_of(labels, labels_path),
        gt_images.get_indexer(labels['ImageID']),
        n_class, iou_thresh)
    ap = ap_from_entries(scores, entry_labels, is_tp, n_pos)

    names = metric_names(mids, ids, iou_thresh)
    metrics = collections.OrderedDict()
    metrics[names[0]] = _nanmean(ap)
    for name, i in zip(names[1:], np.sort(ids)):
        metrics[name] = float(ap[i - 1])
    stats = {
        'n_image': len(gt_images), 'n_box': len(boxes),
        'n_image_label': len(labels), 'n_prediction': len(pred_img),
        'n_prediction_ignored': int((~on_gt).sum()),
        'n_image_ignored': n_image_ignored,
        'n_class_with_gt': int((~np.isnan(ap)).sum()),
    }
    return metrics, stats


def write_metrics_csv(path, metrics):
    """Write ``name,value`` rows like the official tool (no header).

    Values are written with :func:`str`, hence ``nan`` for NaN; lines end
    with ``\\r\\n`` as :mod:`csv`'s default, which is what the official tool
    produces.
    """
    with open(path, 'w') as f:
        writer = csv.writer(f, delimiter=',')
        for name, value in metrics.items():
            writer.writerow([name, str(value)])


def _physical_line(path, row):
    """1-based line of data row ``row`` (header = line 1, blank lines
    skipped as the readers do); error path only."""
    with open(path, encoding='utf-8', newline='') as f:
        seen = -1
        for n, line in enumerate(f, start=1):
            if n == 1 or not line.strip().strip(','):
                continue
            seen += 1
            if seen == row:
                return n
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m pfdet.evaluations.oid_challenge',
        description='Open Images Challenge detection metric, compatible with '
        'the official oid_challenge_evaluation.py.')
    parser.add_argument('--input_annotations_boxes', required=True,
                        help='hierarchy-expanded ground-truth boxes CSV')
    parser.add_argument('--input_annotations_labels', required=True,
                        help='hierarchy-expanded image-level labels CSV')
    parser.add_argument('--input_class_labelmap', required=True,
                        help='label map (.pbtxt) or class-descriptions CSV')
    parser.add_argument('--input_predictions', required=True,
                        help='ImageID,LabelName,Score,XMin,XMax,YMin,YMax')
    parser.add_argument('--output_metrics', required=True,
                        help='output CSV of metric,value rows')
    parser.add_argument('--iou_thresh', type=float, default=0.5,
                        help='matching threshold (default 0.5)')
    args = parser.parse_args(argv)
    try:
        metrics, stats = evaluate_oid_challenge(
            args.input_annotations_boxes, args.input_annotations_labels,
            args.input_class_labelmap, args.input_predictions,
            args.iou_thresh)
    except (ValueError, OSError) as e:
        parser.exit(2, 'error: {}\n'.format(e))
    write_metrics_csv(args.output_metrics, metrics)
    name = next(iter(metrics))
    print('{}: {:.6f} over {} classes with ground truth ({} images, {} '
          'predictions)'.format(name, metrics[name], stats['n_class_with_gt'],
                                stats['n_image'], stats['n_prediction']))
    if stats['n_prediction_ignored']:
        print('ignored {} predictions on {} images without ground truth'
              .format(stats['n_prediction_ignored'],
                      stats['n_image_ignored']))
    return 0


if __name__ == '__main__':
    sys.exit(main())

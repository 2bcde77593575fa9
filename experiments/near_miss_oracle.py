"""Part-class AP of a co-occurrence pair with its near-miss false positives taken out.

The co-occurrence loss drops every part-class negative inside a subject of an unverified
image, including the boxes that cover a part only partly. The detector trained with it then
also fires on such boxes: *near misses*, part detections whose best IoU with a drawn part of
their class (the generator's hidden truth, annotated or not) lies in [0.1, 0.5). This
script measures, on the stored detections of a with/without pair, how much part-class AP
they cost, by re-scoring with the challenge metric after removing them::

    python experiments/near_miss_oracle.py --pair cooccurrence/30_dense_validation --seeds 6

For each seed it prints the part-class average AP of both rows as evaluated, of the row with
the loss without its near misses, and of both rows without theirs, and the gains
(with - without) in the three settings. Removing them needs the hidden truth, which no
training rule has in an unverified image: this is an *oracle*, a bound on what a loss
without that localization cost could gain, not a method. It reads what
``score_threshold.py`` reads (``WORK/toy/<row>/seed<k>/eval/detections.csv`` and the row's
embedded dataset) plus ``validation-hidden-truth.csv``. The last line is the headline.
"""

import os
import sys

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# as in run.py: run as a script, this directory's ``pfdet/`` (the configs) would shadow the
# ``pfdet`` package
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

BOX_COLUMNS = ['XMin', 'XMax', 'YMin', 'YMax']


def rowwise_iou(d, t):
    """IoU of the boxes of two ``(N, 4)`` arrays row by row (``XMin, XMax, YMin, YMax``, the
    column order of the CSVs); 0 where both boxes are empty."""
    import numpy as np
    iw = np.clip(np.minimum(d[:, 1], t[:, 1]) - np.maximum(d[:, 0], t[:, 0]), 0, None)
    ih = np.clip(np.minimum(d[:, 3], t[:, 3]) - np.maximum(d[:, 2], t[:, 2]), 0, None)
    inter = iw * ih
    union = (d[:, 1] - d[:, 0]) * (d[:, 3] - d[:, 2]) + \
        (t[:, 1] - t[:, 0]) * (t[:, 3] - t[:, 2]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.)


def near_miss_mask(detections, hidden_truth, mids, low=0.1, high=0.5):
    """Which detections are near misses of a drawn object of their class.

    Args:
        detections (pandas.DataFrame): ``ImageID, LabelName, Score, XMin, XMax, YMin, YMax``
            (normalized, as in ``detections.csv``).
        hidden_truth (pandas.DataFrame): ``ImageID, LabelName, XMin, XMax, YMin, YMax,
            IsGroupOf`` of every drawn object (``{split}-hidden-truth.csv``).
        mids (iterable of str): Classes looked at; detections of other classes are never
            near misses.
        low, high (float): A detection is a near miss when its best IoU with a drawn,
            non-group-of object of its class in its image lies in ``[low, high)``.

    Returns:
        numpy.ndarray: ``(len(detections),)`` bool, in the order of ``detections``.

    """
    import numpy as np
    mids = list(mids)
    det = detections[['ImageID', 'LabelName'] + BOX_COLUMNS].reset_index(drop=True)
    det = det.assign(_row=np.arange(len(det)))
    det = det[det['LabelName'].isin(mids)]
    truth = hidden_truth[hidden_truth['LabelName'].isin(mids) &
                         (hidden_truth['IsGroupOf'] == 0)][['ImageID', 'LabelName'] + BOX_COLUMNS]
    pairs = det.merge(truth, on=['ImageID', 'LabelName'], suffixes=('', '_t'))
    iou = rowwise_iou(pairs[BOX_COLUMNS].to_numpy(dtype=np.float64),
                      pairs[[c + '_t' for c in BOX_COLUMNS]].to_numpy(dtype=np.float64))
    best = pairs.assign(_iou=iou).groupby('_row')['_iou'].max()
    mask = np.zeros(len(detections), dtype=bool)
    mask[best.index.to_numpy()[((best >= low) & (best < high)).to_numpy()]] = True
    return mask


def parse_args(argv=None):
    from experiments.score_threshold import pair_parser
    parser = pair_parser(__doc__)
    parser.add_argument('--iou', default='0.1,0.5',
                        help='LOW,HIGH: a near miss has its best IoU in [LOW, HIGH)')
    return parser.parse_args(argv)


def _fmt(values):
    from experiments.score_threshold import mean
    return '{:+.1f} ({})'.format(mean(values), ', '.join('{:+.1f}'.format(v) for v in values))


def main(argv=None):
    from experiments import score_threshold as st
    args = parse_args(argv)
    low, high = (float(v) for v in args.iou.split(','))
    try:
        pair, root, (truth,) = st.read_pair_data(args.pair, ['validation-hidden-truth.csv'])
    except st.PairError as e:
        sys.stderr.write('error: {}\n'.format(e))
        return 2
    evaluator = st.ThresholdedEvaluator(root)
    mids = [m for m, _ in evaluator.parts]
    gains = {'as evaluated': [], 'with-loss near misses out': [], 'all near misses out': []}
    try:
        print('{}: part classes {}; near miss: best IoU with a drawn part of the class in '
              '[{:g}, {:g})'.format(args.pair, ', '.join(n for _, n in evaluator.parts),
                                    low, high))
        for seed, dets in st.each_seed(args.work_dir, pair, args.seeds):
            masks = [near_miss_mask(d, truth, mids, low, high) for d in dets]
            ap = [st.mean(list(evaluator.part_ap(d, 0.).values())) for d in dets]
            clean = [st.mean(list(evaluator.part_ap(d[~m], 0.).values()))
                     for d, m in zip(dets, masks)]
            gains['as evaluated'].append(ap[1] - ap[0])
            gains['with-loss near misses out'].append(clean[1] - ap[0])
            gains['all near misses out'].append(clean[1] - clean[0])
            print('seed {}: near misses without/with the loss {}/{}; part-class AP without '
                  '{:.1f}, with {:.1f}; without near misses: without {:.1f}, with {:.1f}'
                  .format(seed, int(masks[0].sum()), int(masks[1].sum()), ap[0], ap[1],
                          clean[0], clean[1]))
    except st.PairError as e:
        sys.stderr.write('error: {}\n'.format(e))
        return 2
    finally:
        evaluator.close()
    print('near-miss oracle, part-class gain: ' + '; '.join(
        '{} {}'.format(k, _fmt(v)) for k, v in gains.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Where the part detections of a co-occurrence pair score and sit, against the hidden truth.

AP ranks the detections of a class, so a detector that scores the parts inside subjects low
loses AP only where its false positives outrank them, and a loss that ignores negatives
costs AP where its detections land beside the part. This script measures both on the stored
detections of a with/without pair::

    python experiments/part_diagnostics.py \
        --pair cooccurrence/50_dense_validation_noisy_long --seeds 6

For each seed, side (without / with the loss) and part class it prints:

* ``inside`` / ``own``: the median, over the drawn parts (the generator's hidden truth,
  annotated or not, no group-of boxes) inside a subject / drawn on their own, of the best
  score of a detection of the class with IoU >= 0.5 (0 when there is none);
* ``far FP q90``: the 90 % quantile of the scores of the class's *far* false positives
  (best IoU < 0.1 with every drawn part of the class), in the images where the class is a
  verified positive (the only images where the challenge metric counts them);
* ``near misses``: the detections scored >= ``--min-score`` whose best IoU with a drawn
  part of the class lies in [0.1, 0.5) and whose best-matching part lies inside a subject;
  their median area relative to that part's, and the share of them whose centre is shifted
  towards the subject's centre (the displacement projected on the direction from the part's
  centre to its subject's; a median of that projection in units of the part's side).

It reads what ``near_miss_oracle.py`` reads (``WORK/toy/<row>/seed<k>/eval/detections.csv``,
the row's embedded dataset and ``validation-hidden-truth.csv``). The last line is the
headline: the near misses of both sides over the seeds.
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

from experiments.near_miss_oracle import BOX_COLUMNS  # NOQA: E402
from experiments.near_miss_oracle import rowwise_iou  # NOQA: E402


def _median(values):
    import numpy as np
    return float(np.median(values)) if len(values) else float('nan')


def class_diagnostics(detections, hidden_truth, image_labels, mid, min_score=0.3):
    """The diagnostics of one part class on one run's detections (see the module docstring).

    Args:
        detections (pandas.DataFrame): ``ImageID, LabelName, Score, XMin, XMax, YMin, YMax``
            (normalized, as in ``detections.csv``).
        hidden_truth (pandas.DataFrame): ``{split}-hidden-truth.csv`` (``ObjectIndex``,
            ``ParentIndex``, ``ImageWidth``, ``ImageHeight`` among its columns).
        image_labels (pandas.DataFrame): ``ImageID, LabelName, Confidence`` (verified
            labels; ``Confidence`` 1 is a verified positive).
        mid (str): The part class.
        min_score (float): Near misses scored below it are left out.

    Returns:
        dict: ``inside``, ``own`` (medians of the best score; NaN without such parts),
        ``n_inside``, ``n_own``, ``far_fp_q90`` (NaN without far false positives),
        ``n_far_fp``, ``near_misses`` (count), ``near_miss_area`` (median area ratio),
        ``inward_share`` and ``inward_shift`` (share and median of the projection, in part
        sides; NaN without near misses).

    """
    import numpy as np
    det = detections[detections['LabelName'] == mid].reset_index(drop=True)
    det = det.assign(_d=np.arange(len(det)))
    truth = hidden_truth[(hidden_truth['LabelName'] == mid) &
                         (hidden_truth['IsGroupOf'] == 0)].reset_index(drop=True)
    truth = truth.assign(_t=np.arange(len(truth)))
    pairs = det[['_d', 'ImageID', 'Score'] + BOX_COLUMNS].merge(
        truth[['_t', 'ImageID', 'ObjectIndex', 'ParentIndex', 'ImageWidth', 'ImageHeight'] +
              BOX_COLUMNS], on='ImageID', suffixes=('', '_t'))
    pairs = pairs.assign(iou=rowwise_iou(
        pairs[BOX_COLUMNS].to_numpy(np.float64),
        pairs[[c + '_t' for c in BOX_COLUMNS]].to_numpy(np.float64)))
    # best score of a detection with IoU >= 0.5 on each drawn part (0 when none)
    hits = pairs[pairs['iou'] >= 0.5].groupby('_t')['Score'].max()
    best_score = np.zeros(len(truth))
    best_score[hits.index.to_numpy()] = hits.to_numpy()
    inside = truth['ParentIndex'].to_numpy() >= 0
    # far false positives in the images where the class is a verified positive
    best_iou = np.zeros(len(det))
    if len(pairs):
        b = pairs.groupby('_d')['iou'].max()
        best_iou[b.index.to_numpy()] = b.to_numpy()
    verified = set(image_labels.loc[(image_labels['LabelName'] == mid) &
                                    (image_labels['Confidence'] == 1), 'ImageID'])
    far = (best_iou < 0.1) & det['ImageID'].isin(verified).to_numpy()
    far_scores = det['Score'].to_numpy()[far]
    # near misses: each detection's best-matching part, when inside a subject
    out = dict(inside=_median(best_score[inside]), own=_median(best_score[~inside]),
               n_inside=int(inside.sum()), n_own=int((~inside).sum()),
               far_fp_q90=float(np.quantile(far_scores, 0.9)) if len(far_scores)
               else float('nan'), n_far_fp=int(far.sum()))
    best = pairs.loc[pairs.groupby('_d')['iou'].idxmax()] if len(pairs) else pairs
    near = best[(best['iou'] >= 0.1) & (best['iou'] < 0.5) & (best['ParentIndex'] >= 0) &
                (best['Score'] >= min_score)]
    subjects = hidden_truth[['ImageID', 'ObjectIndex'] + BOX_COLUMNS].rename(
        columns=dict({'ObjectIndex': 'ParentIndex'}, **{c: c + '_s' for c in BOX_COLUMNS}))
    near = near.merge(subjects, on=['ImageID', 'ParentIndex'], how='left')
    if near[[c + '_s' for c in BOX_COLUMNS]].isna().any(axis=None):
        raise ValueError('hidden truth: a part names a ParentIndex that is no object of its '
                         'image')
    scale = near[['ImageWidth', 'ImageHeight']].to_numpy(np.float64)

    def centre(suffix):
        b = near[[c + suffix for c in BOX_COLUMNS]].to_numpy(np.float64)
        return np.stack(((b[:, 0] + b[:, 1]) / 2, (b[:, 2] + b[:, 3]) / 2), axis=1) * scale

    def area(suffix):
        b = near[[c + suffix for c in BOX_COLUMNS]].to_numpy(np.float64)
        return (b[:, 1] - b[:, 0]) * (b[:, 3] - b[:, 2]) * scale[:, 0] * scale[:, 1]

    part_c = centre('_t')
    towards = centre('_s') - part_c
    norm = np.linalg.norm(towards, axis=1)
    ok = norm > 0
    shift = ((centre('') - part_c) * towards).sum(axis=1)[ok] / norm[ok] / \
        np.sqrt(area('_t'))[ok]
    out.update(near_misses=len(near), near_miss_area=_median(area('') / area('_t')),
               inward_share=float((shift > 0).mean()) if len(shift) else float('nan'),
               inward_shift=_median(shift))
    return out


def parse_args(argv=None):
    from experiments.score_threshold import pair_parser
    parser = pair_parser(__doc__)
    parser.add_argument('--min-score', type=float, default=0.3,
                        help='near misses scored below it are left out (default 0.3)')
    return parser.parse_args(argv)


def _fmt(value, pattern):
    return '—' if value != value else pattern.format(value)


def _line(seed, side, cls, r):
    """One printed line of :func:`class_diagnostics`' result ``r``."""
    return ('seed {} {:7s} {:14s} inside {} own {} | far FP q90 {} (n {}) | near misses {} '
            'area x{} inward {} (shift {})'.format(
                seed, side, cls, _fmt(r['inside'], '{:.2f}'), _fmt(r['own'], '{:.2f}'),
                _fmt(r['far_fp_q90'], '{:.2f}'), r['n_far_fp'], r['near_misses'],
                _fmt(r['near_miss_area'], '{:.2f}'), _fmt(r['inward_share'], '{:.0%}'),
                _fmt(r['inward_shift'], '{:+.2f}')))


def main(argv=None):
    from experiments import score_threshold as st
    args = parse_args(argv)
    try:
        pair, root, (truth, labels) = st.read_pair_data(args.pair, [
            'validation-hidden-truth.csv', 'validation-annotations-human-imagelabels.csv'])
    except st.PairError as e:
        sys.stderr.write('error: {}\n'.format(e))
        return 2
    parts = st.part_classes(root)
    print('{}: part classes {}; near misses scored >= {:g}'.format(
        args.pair, ', '.join(n for _, n in parts), args.min_score))
    totals = [[], []]
    try:
        for seed, dets in st.each_seed(args.work_dir, pair, args.seeds):
            for side, (name, det) in enumerate(zip(('without', 'with'), dets)):
                rows = [(cls, class_diagnostics(det, truth, labels, mid, args.min_score))
                        for mid, cls in parts]
                totals[side].append(sum(r['near_misses'] for _, r in rows))
                for cls, r in rows:
                    print(_line(seed, name, cls, r))
    except st.PairError as e:
        sys.stderr.write('error: {}\n'.format(e))
        return 2
    print('part near misses scored >= {:g}, without -> with the loss, per seed: {}'.format(
        args.min_score, ', '.join('{} -> {}'.format(a, b) for a, b in zip(*totals))))
    return 0


if __name__ == '__main__':
    sys.exit(main())

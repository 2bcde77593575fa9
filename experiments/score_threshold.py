"""Part-class AP of a co-occurrence pair when only detections above a score count.

The challenge metric ranks *all* detections of a class (``examples/evaluate.py`` keeps those
with score >= 0.01, at most 100 per image), so a detector that scores every part lower but
in the same order loses little AP. A detector used at an operating point (the model's
``visualize`` preset keeps score >= 0.5) loses every part it scores below it. This script
re-scores the stored detections of both rows of a with/without pair at several score
thresholds, with the same metric, and prints the part-class average per seed::

    python experiments/score_threshold.py --pair cooccurrence/30_dense_validation --seeds 6

It reads ``WORK/toy/<row>/seed<k>/eval/detections.csv`` (written by ``run.py``; run the rows
first) and the row's embedded dataset (ground truth expanded up the hierarchy, as
``evaluate.py`` does; the part classes are the generator's planted ones, ``meta.json``).
Threshold 0 reproduces the committed results, up to a match that the CSV's six significant
digits can flip: on ``29`` seed 3 one face detection has an IoU within 1e-6 of 0.5, and
Human face scores 68.2 AP from the CSV against 67.6 from ``evaluate.py``'s arrays (the part
average moves by 0.1). The last line is the headline.
"""

import argparse
import os
import sys
import tempfile

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# as in run.py: run as a script, this directory's ``pfdet/`` (the configs) would shadow the
# ``pfdet`` package
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

_AP_KEY = 'OpenImagesDetectionChallenge_PerformanceByCategory/AP@0.5IOU/'


def part_classes(root):
    """``[(mid, name)]`` of the planted part classes of an embedded dataset
    (:func:`experiments.run.planted_parts`); an error when it has none."""
    from experiments.run import planted_parts
    parts = planted_parts(root)
    if not parts:
        raise ValueError('{}: meta.json names no planted part classes'.format(root))
    return parts


class ThresholdedEvaluator(object):
    """The challenge metric of one embedded dataset's validation split, on detections above
    a score threshold. The ground truth is expanded once (into a temporary directory)."""

    def __init__(self, root, split='validation'):
        from pfdet.datasets.expand_hierarchy import expand_annotations
        self.root = root
        self.parts = part_classes(root)
        self._tmp = tempfile.TemporaryDirectory(prefix='pfdet-threshold-')
        self.boxes = os.path.join(self._tmp.name, 'boxes.csv')
        self.labels = os.path.join(self._tmp.name, 'labels.csv')
        hierarchy = os.path.join(root, 'hierarchy.json')
        expand_annotations(hierarchy, os.path.join(root, split + '-annotations-bbox.csv'),
                           self.boxes, 1)
        expand_annotations(hierarchy, os.path.join(
            root, split + '-annotations-human-imagelabels.csv'), self.labels, 2)

    def part_ap(self, detections, thresh):
        """``{mid: AP %}`` of the part classes, counting detections with score >= ``thresh``.

        Args:
            detections (pandas.DataFrame): ``ImageID, LabelName, Score, XMin, XMax, YMin,
                YMax`` (normalized).
        """
        from pfdet.evaluations.oid_challenge import evaluate_oid_challenge
        path = os.path.join(self._tmp.name, 'predictions.csv')
        detections[detections['Score'] >= thresh].to_csv(path, index=False)
        metrics, _ = evaluate_oid_challenge(self.boxes, self.labels, os.path.join(
            self.root, 'class-descriptions.csv'), path)
        return {mid: 100 * metrics[_AP_KEY + mid] for mid, _ in self.parts}

    def close(self):
        self._tmp.cleanup()


def mean(values):
    values = [v for v in values if v == v]     # NaN: no ground truth
    return sum(values) / len(values) if values else float('nan')


def pair_parser(doc):
    """An argument parser with ``--pair``, ``--seeds`` and ``--work-dir`` (the options of
    every script that reads a with/without pair's stored detections); ``doc``: the
    script's docstring, whose first paragraph describes it."""
    from experiments.run import DEFAULT_WORK
    parser = argparse.ArgumentParser(description=doc.split('\n\n')[0])
    parser.add_argument('--pair', required=True,
                        help="the with-the-loss row of a pair, e.g. "
                        "'cooccurrence/30_dense_validation' (its WITH row is found)")
    parser.add_argument('--seeds', type=int, default=2, help='seeds 0 .. N-1')
    parser.add_argument('--work-dir', default=DEFAULT_WORK)
    return parser


def parse_args(argv=None):
    parser = pair_parser(__doc__)
    parser.add_argument('--thresholds', default='0,0.3,0.5',
                        help='comma-separated score thresholds')
    return parser.parse_args(argv)


class PairError(ValueError):
    """A with/without pair cannot be read (the message says what to run or fix)."""


def resolve_pair(pair_key):
    """The rows and dataset of the with/without pair whose with-the-loss row is ``pair_key``.

    Returns:
        tuple: ``([without row, with row], dataset root)``.

    Raises:
        PairError: no such row, no row naming it in ``WITH``, the two rows evaluate on other
            data, or that data has not been generated yet.

    """
    from experiments import run
    rows = {r.key: r for r in run.discover_rows()}
    if pair_key not in rows:
        raise PairError('--pair: no row {!r}'.format(pair_key))
    without = [k for k, r in rows.items() if getattr(r.module, 'WITH', None) == pair_key]
    if not without:
        raise PairError('no row names {} in WITH (is it the with-the-loss side of a '
                        'pair?)'.format(pair_key))
    pair = [rows[without[0]], rows[pair_key]]
    roots = {r.config('toy')['dataset']['root'] for r in pair}
    if len(roots) != 1:
        raise PairError('the two rows evaluate on other data: {}'.format(roots))
    root = os.path.join(_REPO, roots.pop())
    if not os.path.exists(os.path.join(root, 'meta.json')):
        raise PairError('{} holds no embedded dataset: run {} first'.format(root, pair_key))
    return pair, root


def read_pair_data(pair_key, names=()):
    """:func:`resolve_pair` plus files of the pair's dataset read as DataFrames.

    Returns:
        tuple: ``(pair, root, frames)``, ``frames`` in the order of ``names`` (file names in
        the dataset directory, e.g. ``'validation-hidden-truth.csv'``).

    Raises:
        PairError: as :func:`resolve_pair`, or naming a file that is missing.

    """
    import pandas as pd
    pair, root = resolve_pair(pair_key)
    frames = []
    for name in names:
        path = os.path.join(root, name)
        if not os.path.exists(path):
            raise PairError('{} is missing (the generator writes it; regenerate {})'.format(
                path, root))
        frames.append(pd.read_csv(path))
    return pair, root, frames


def pair_detections(work_dir, pair, seed):
    """The stored detections (``eval/detections.csv``) of both rows of ``pair`` for one seed,
    as DataFrames; :class:`PairError` naming the first one missing."""
    import pandas as pd
    from experiments import run
    dets = []
    for row in pair:
        path = os.path.join(run.run_dir(work_dir, 'toy', row, seed), 'eval', 'detections.csv')
        if not os.path.exists(path):
            raise PairError('{} is missing: run {} seed {} first'.format(path, row.key, seed))
        dets.append(pd.read_csv(path))
    return dets


def each_seed(work_dir, pair, seeds):
    """Yields ``(seed, [without detections, with detections])`` for seeds 0 .. ``seeds`` - 1
    (:func:`pair_detections`); :class:`PairError` at the first seed with a file missing."""
    for seed in range(seeds):
        yield seed, pair_detections(work_dir, pair, seed)


def main(argv=None):
    args = parse_args(argv)
    try:
        pair, root = resolve_pair(args.pair)
    except PairError as e:
        sys.stderr.write('error: {}\n'.format(e))
        return 2
    thresholds = [float(t) for t in args.thresholds.split(',')]
    evaluator = ThresholdedEvaluator(root)
    gains = {t: [] for t in thresholds}
    try:
        print('{}: part classes {}'.format(args.pair, ', '.join(n for _, n in
                                                                evaluator.parts)))
        for seed, dets in each_seed(args.work_dir, pair, args.seeds):
            for t in thresholds:
                a, b = (mean(list(evaluator.part_ap(d, t).values())) for d in dets)
                gains[t].append(b - a)
                print('seed {} score >= {:g}: part-class AP without {:.1f}, with {:.1f}, '
                      'gain {:+.1f}'.format(seed, t, a, b, b - a))
    except PairError as e:
        sys.stderr.write('error: {}\n'.format(e))
        return 2
    finally:
        evaluator.close()
    print('; '.join('score >= {:g}: part-class gain {:+.1f} ({})'.format(
        t, mean(g), ', '.join('{:+.1f}'.format(x) for x in g)) for t, g in gains.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())

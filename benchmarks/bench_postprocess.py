"""Benchmark: pfdet.utils post-processing vs ensemble-boxes 1.0.9.

Input (seeded): 5 models x 2,000 boxes, 50 classes, one 1000x1000 image.
400 objects; each model sees each object 5 times with jittered boxes
(13% of the box size) and scores. Both libraries get the same boxes
(ours as (y_min, x_min, y_max, x_max) pixels, ensemble-boxes as normalised
xyxy). ensemble-boxes' numba functions are run once before timing (JIT).
Times are the median of 5 runs. "identical" means the same kept boxes
(matched to the input), the same scores (for Soft-NMS: ensemble-boxes'
undecayed scores equal the input scores of our kept boxes) and, for NMW,
fused boxes equal to 1e-5 (ensemble-boxes works in float32).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_postprocess.py``
"""

import os
import time
import warnings

import numpy as np

from pfdet.utils import adj_nms
from pfdet.utils import box_voting
from pfdet.utils import non_maximum_suppression
from pfdet.utils import non_maximum_weighted
from pfdet.utils import soft_nms

N_MODEL, N_PER_MODEL, N_CLASS, N_OBJECT, SIZE = 5, 2000, 50, 400, 1000.
N_REPEAT = 5
JITTER = 0.13  # relative; gives about 1,400 NMS survivors as in stack.md 5


def make_detections(seed=0):
    rng = np.random.RandomState(seed)
    center = rng.uniform(0, SIZE, (N_OBJECT, 2))
    hw = rng.uniform(20, 300, (N_OBJECT, 2))
    obj_label = rng.randint(0, N_CLASS, N_OBJECT)
    obj_score = rng.uniform(0.05, 1, N_OBJECT)
    copies = N_PER_MODEL // N_OBJECT
    bboxes, scores, labels = [], [], []
    for _ in range(N_MODEL):
        obj = np.repeat(np.arange(N_OBJECT), copies)
        c = center[obj] + rng.randn(len(obj), 2) * JITTER * hw[obj]
        s = hw[obj] * np.exp(rng.randn(len(obj), 2) * JITTER)
        c = np.clip(c, s / 2, SIZE - s / 2)  # inside: no zero-area boxes
        bbox = np.concatenate((c - s / 2, c + s / 2), axis=1)
        bboxes.append(np.clip(bbox, 0, SIZE))
        scores.append(np.clip(obj_score[obj] * rng.uniform(0.5, 1, len(obj)),
                              1e-4, 1))
        labels.append(obj_label[obj])
    return bboxes, scores, labels


def to_ensemble(bboxes):
    # (y_min, x_min, y_max, x_max) pixels -> normalised (x1, y1, x2, y2)
    return [b[:, [1, 0, 3, 2]] / SIZE for b in bboxes]


def median_time(func, repeat=N_REPEAT):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def match(eb_out, bbox, score, label):
    """Input indices of ensemble-boxes' returned boxes (exact copies)."""
    key = {}
    for i, (b, s, lb) in enumerate(zip(bbox, score, label)):
        key[(tuple(np.round(b[[1, 0, 3, 2]] / SIZE, 12)), round(s, 12),
             int(lb))] = i
    eb_box, eb_score, eb_label = eb_out
    return sorted(key[(tuple(np.round(b, 12)), round(s, 12), int(lb))]
                  for b, s, lb in zip(eb_box, eb_score, eb_label))


def main():
    import ensemble_boxes as eb
    warnings.simplefilter('ignore')

    bboxes, scores, labels = make_detections()
    eb_boxes = to_ensemble(bboxes)
    bbox = np.concatenate(bboxes)
    score = np.concatenate(scores)
    label = np.concatenate(labels)
    print('cores: {}  OMP_NUM_THREADS={}  load average: {:.1f}'.format(
        os.cpu_count(), os.environ.get('OMP_NUM_THREADS', '(unset)'),
        os.getloadavg()[0]))
    print('input: {} models x {} boxes = {} boxes, {} classes, {} objects; '
          'median of {}'.format(N_MODEL, N_PER_MODEL, len(bbox), N_CLASS,
                                N_OBJECT, N_REPEAT))

    def ens(func, **kwargs):
        return lambda: func([b.copy() for b in eb_boxes],
                            [s.copy() for s in scores],
                            [lb.copy() for lb in labels], **kwargs)

    # JIT warm-up of ensemble-boxes' numba functions
    for f in (eb.nms, eb.soft_nms, eb.non_maximum_weighted):
        f(eb_boxes[:1], scores[:1], labels[:1])

    results = []

    # NMS (strict > as ensemble-boxes)
    t_eb, eb_out = median_time(ens(eb.nms, iou_thr=0.5))
    t_our, out = median_time(lambda: non_maximum_suppression(
        bbox, score, label, 0.5, strict=True, return_index=True))
    same = match(eb_out, bbox, score, label) == sorted(out[3].tolist())
    results.append(('NMS', t_our, t_eb, same, len(out[0])))

    # Soft-NMS, Gaussian and linear
    for method, eb_method in (('gaussian', 2), ('linear', 1)):
        t_eb, eb_out = median_time(ens(eb.soft_nms, method=eb_method,
                                       iou_thr=0.5, sigma=0.5, thresh=1e-3))
        t_our, out = median_time(lambda: soft_nms(
            bbox, score, label, 0.5, 0.5, method, 1e-3, return_index=True))
        # ensemble-boxes keeps decayed > thresh; ours >= (no ties here)
        same = match(eb_out, bbox, score, label) == sorted(out[3].tolist())
        results.append(('Soft-NMS ({})'.format(method), t_our, t_eb, same,
                        len(out[0])))

    # NMW
    t_eb, eb_out = median_time(ens(eb.non_maximum_weighted, iou_thr=0.55))
    t_our, out = median_time(lambda: non_maximum_weighted(
        bbox, score, label, 0.55, return_index=True))
    eb_box, eb_score, eb_label = eb_out
    o1 = np.lexsort((-out[1], out[2]))
    o2 = np.lexsort((-eb_score, eb_label))
    same = (len(o1) == len(o2)
            and np.array_equal(out[2][o1], eb_label[o2].astype(int))
            and np.allclose(out[1][o1], eb_score[o2], rtol=1e-6, atol=0)
            and np.abs(out[0][o1] / SIZE
                       - eb_box[o2][:, [1, 0, 3, 2]]).max() < 1e-5)
    results.append(('NMW', t_our, t_eb, same, len(out[0])))

    # ours only
    t_adj, out_adj = median_time(lambda: adj_nms(bbox, score, label))
    t_vote, out_vote = median_time(lambda: box_voting(bbox, score, label))

    for name, t_our, t_eb, same, n_out in results:
        print('{:22s} ours {:7.1f} ms  ensemble-boxes {:7.1f} ms  {:5.1f}x  '
              '{} boxes  identical: {}'.format(name, t_our * 1e3, t_eb * 1e3,
                                               t_eb / t_our, n_out, same))
    print('{:22s} ours {:7.1f} ms  ({} boxes; no peer)'.format(
        'Adj-NMS', t_adj * 1e3, len(out_adj[0])))
    print('{:22s} ours {:7.1f} ms  ({} boxes; no peer)'.format(
        'box voting (NMS)', t_vote * 1e3, len(out_vote[0])))
    name, t_our, t_eb, same, _ = results[1]
    print('Soft-NMS: {:.1f} ms, {:.1f}x faster than ensemble-boxes'.format(
        t_our * 1e3, t_eb / t_our))
    name, t_our, t_eb, same, _ = results[-1]
    print('NMW: {:.1f} ms, {:.1f}x faster than ensemble-boxes'.format(
        t_our * 1e3, t_eb / t_our))


if __name__ == '__main__':
    main()

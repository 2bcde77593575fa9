"""Speed of :func:`pfdet.evaluations.eval_detection_oid`.

Seeded workload: 1,000 images x 500 classes x 100 detections per image,
8 ground-truth boxes per image (about 20% group-of), image-level labels = the
classes of the boxes plus 3 verified negatives. Of the 100 detections, 60 are
jittered ground-truth boxes (some with a wrong class) and 40 are random boxes
of random classes (mostly unverified, hence ignored by the metric).

Prints the end-to-end time of ``eval_detection_oid`` (median of 3), and, for
scale, the time of a naive reference written like the official evaluator's
per-image ingestion (a Python loop over *all* classes of every image, numpy
within a class), measured on a subset and extrapolated. The official
evaluator itself is not run here; its documented figure is quoted.

Usage: ``python benchmarks/bench_oid_metric.py [--n-img 1000] [--subset 50]``
"""

import argparse
import os
import time

os.environ.setdefault('OMP_NUM_THREADS', '1')

import numpy as np  # NOQA: E402

from pfdet.evaluations import eval_detection_oid  # NOQA: E402


def make_workload(n_img, n_class, n_det, n_gt, seed=0):
    rng = np.random.RandomState(seed)
    data = [[] for _ in range(7)]
    for _ in range(n_img):
        yx = rng.uniform(0, 800, size=(n_gt, 2))
        hw = rng.uniform(20, 300, size=(n_gt, 2))
        gt = np.concatenate([yx, yx + hw], axis=1).astype(np.float32)
        gl = rng.randint(0, n_class, size=n_gt).astype(np.int32)
        gg = rng.uniform(size=n_gt) < .2
        il = np.unique(np.concatenate(
            [gl, rng.randint(0, n_class, size=3)])).astype(np.int32)
        n_near = int(n_det * .6)
        src = rng.randint(0, n_gt, size=n_near)
        near = gt[src] + rng.normal(0, 15, size=(n_near, 4))
        near_l = gl[src].copy()
        wrong = rng.uniform(size=n_near) < .2
        near_l[wrong] = rng.choice(il, size=wrong.sum())
        n_far = n_det - n_near
        yx = rng.uniform(0, 800, size=(n_far, 2))
        far = np.concatenate([yx, yx + rng.uniform(10, 300, (n_far, 2))], 1)
        far_l = rng.randint(0, n_class, size=n_far)
        bbox = np.concatenate([near, far]).astype(np.float32)
        label = np.concatenate([near_l, far_l]).astype(np.int32)
        score = rng.uniform(size=n_det).astype(np.float32)
        for k, v in enumerate((bbox, label, score, gt, gl, gg, il)):
            data[k].append(v)
    return data


def _iou_matrix(a, b):
    h = np.minimum(a[:, None, 2], b[None, :, 2]) - \
        np.maximum(a[:, None, 0], b[None, :, 0])
    w = np.minimum(a[:, None, 3], b[None, :, 3]) - \
        np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(h, 0) * np.maximum(w, 0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter), \
        inter / area_a[:, None]


def naive_eval(pred_bboxes, pred_labels, pred_scores, gt_bboxes, gt_labels,
               gt_is_group_ofs, gt_image_labels, n_class, thresh=0.5):
    """Per image, a loop over all classes (the official evaluator's shape)."""
    scores = [[] for _ in range(n_class)]
    tps = [[] for _ in range(n_class)]
    n_pos = np.zeros(n_class)
    for pb, pl, ps, gb, gl, gg, il in zip(
            pred_bboxes, pred_labels, pred_scores, gt_bboxes, gt_labels,
            gt_is_group_ofs, gt_image_labels):
        pb = pb.astype(np.float64)
        gb = gb.astype(np.float64)
        ps = ps.astype(np.float64)
        verified = np.unique(np.concatenate([il, gl]))
        keep = np.isin(pl, verified) & (pb[:, 0] < pb[:, 2]) & \
            (pb[:, 1] < pb[:, 3]) & (ps > -10)
        pb, pl, ps = pb[keep], pl[keep], ps[keep]
        for c in range(n_class):
            n_pos[c] += np.sum(gl == c)
            m = pl == c
            b, s = pb[m], ps[m]
            if len(s) == 0:
                continue
            order = np.argsort(-s, kind='stable')[:10000]
            b, s = b[order], s[order]
            normal = gb[(gl == c) & ~gg]
            group = gb[(gl == c) & gg]
            tp = np.zeros(len(s), bool)
            if len(normal):
                iou, _ = _iou_matrix(b, normal)
                arg = iou.argmax(axis=1)
                taken = np.zeros(len(normal), bool)
                for i in range(len(s)):
                    j = arg[i]
                    if iou[i, j] >= thresh and not taken[j]:
                        taken[j] = True
                        tp[i] = True
            removed = np.zeros(len(s), bool)
            group_score = np.zeros(len(group))
            if len(group):
                _, ioa = _iou_matrix(b, group)
                arg = ioa.argmax(axis=1)
                for i in range(len(s)):
                    j = arg[i]
                    if not tp[i] and ioa[i, j] >= thresh:
                        removed[i] = True
                        group_score[j] = max(group_score[j], s[i])
            group_score = group_score[group_score > 0]
            scores[c].append(np.concatenate([s[~removed], group_score]))
            tps[c].append(np.concatenate([tp[~removed],
                                          np.ones(len(group_score), bool)]))
    ap = np.full(n_class, np.nan)
    for c in range(n_class):
        if n_pos[c] == 0:
            continue
        if not scores[c]:
            ap[c] = 0
            continue
        s = np.concatenate(scores[c])
        t = np.concatenate(tps[c]).astype(np.float64)
        order = np.argsort(-s, kind='stable')
        t = t[order]
        tp_c = np.cumsum(t)
        prec = tp_c / np.arange(1, len(t) + 1)
        rec = tp_c / n_pos[c]
        prec = np.concatenate([[0], prec, [0]])
        rec = np.concatenate([[0], rec, [1]])
        prec = np.maximum.accumulate(prec[::-1])[::-1]
        idx = np.flatnonzero(rec[1:] != rec[:-1]) + 1
        ap[c] = np.sum((rec[idx] - rec[idx - 1]) * prec[idx])
    return {'ap': ap, 'map': np.nanmean(ap)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--n-img', type=int, default=1000)
    parser.add_argument('--n-class', type=int, default=500)
    parser.add_argument('--n-det', type=int, default=100)
    parser.add_argument('--n-gt', type=int, default=8)
    parser.add_argument('--subset', type=int, default=50)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()

    data = make_workload(args.n_img, args.n_class, args.n_det, args.n_gt)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = eval_detection_oid(*data, n_class=args.n_class)
        times.append(time.perf_counter() - t0)
    fast = float(np.median(times))
    print('workload: {} images x {} classes, {} detections and {} GT boxes '
          'per image'.format(args.n_img, args.n_class, args.n_det,
                             args.n_gt))
    n_valid = int((~np.isnan(result['ap'])).sum())
    print('eval_detection_oid: runs {} s, median {:.3f} s, mAP {:.6f} over {} '
          'classes'.format(['{:.3f}'.format(t) for t in times], fast,
                           result['map'], n_valid))

    sub = [d[:args.subset] for d in data]
    t0 = time.perf_counter()
    naive = naive_eval(*sub, n_class=args.n_class)
    t_naive = time.perf_counter() - t0
    check = eval_detection_oid(*sub, n_class=args.n_class)
    diff = np.nanmax(np.abs(naive['ap'] - check['ap']))
    same_nan = bool(np.array_equal(np.isnan(naive['ap']),
                                   np.isnan(check['ap'])))
    t_naive_full = t_naive * args.n_img / args.subset
    print('naive per-image loop over all classes (numpy within a class): '
          '{:.2f} s on {} images ({:.2f} ms/image), extrapolated {:.1f} s for '
          '{} images; max |AP difference| on the subset {:.1e}, NaN pattern '
          'equal: {}'.format(t_naive, args.subset,
                             1000 * t_naive / args.subset, t_naive_full,
                             args.n_img, diff, same_nan))
    print('ratio vs that naive reference (extrapolated): {:.0f}x'.format(
        t_naive_full / fast))
    print('reference figure, NOT measured here: the official TF evaluator '
          'documents ~11.5 s ingestion + 0.08 s evaluate() for this workload '
          'size on 2 cores (open_images.md section 7)')
    print('eval_detection_oid: {} images x {} classes x {} dets in {:.2f} s '
          '({:,.0f} images/s)'.format(args.n_img, args.n_class, args.n_det,
                                      fast, args.n_img / fast))


if __name__ == '__main__':
    main()

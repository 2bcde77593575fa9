"""Benchmark: the pseudo-box ignore mask vs a per-image, per-class greedy-NMS loop.

``pseudo_box_ignore_mask`` (``train_chain.cooc_pseudo_box_iou``) runs in every training
iteration of rows 46/48, on the RoIs the head samples. Input (seeded): 2 images of
800 x 800 pixels (the per-GPU batch of PFDet is 1-2), 512 sampled RoIs per image (PFDet's
``head_n_sample``), 500 classes of which 47 are parts (as in the poster's Table 4). Each
image has 12 subjects with 5 of the part classes each; 40 % of the RoIs are jittered
copies of 60 part boxes inside the subjects, the rest random. A (RoI, part) entry is a
candidate when the RoI lies inside a subject with that part; scores are random. The
peer is a straightforward loop (per image, per part class: sort, keep a candidate unless a
kept one overlaps it) followed by the same IoU test, as in the unit tests' oracle. Both
outputs must be identical. Times are the median of 5 runs, NumPy on one thread.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_pseudo_box.py``
"""

import os
import time

import numpy as np

from chainercv.utils import bbox_iou

from pfdet.links.model.pfdet.cooccurrence import _ioa
from pfdet.links.model.pfdet.cooccurrence import pseudo_box_ignore_mask

N_IMAGE, N_ROI, N_CLASS, N_PART, SIZE = 2, 512, 500, 47, 800.
N_SUBJECT, PARTS_PER_SUBJECT, N_PART_BOX = 12, 5, 60
N_REPEAT = 5


def make_input(seed=0):
    rng = np.random.RandomState(seed)
    part_cols = rng.choice(N_CLASS, N_PART, replace=False)
    rois, roi_indices, ignore = [], [], []
    for i in range(N_IMAGE):
        tl = rng.uniform(0, SIZE * 0.7, (N_SUBJECT, 2))
        subj = np.concatenate([tl, tl + rng.uniform(100, SIZE * 0.3, (N_SUBJECT, 2))], 1)
        parts = rng.randint(0, N_SUBJECT, N_PART_BOX)
        hw = (subj[parts, 2:] - subj[parts, :2]) * rng.uniform(0.15, 0.4, (N_PART_BOX, 2))
        ptl = subj[parts, :2] + rng.uniform(0, 1, (N_PART_BOX, 2)) * (
            subj[parts, 2:] - subj[parts, :2] - hw)
        n_near = int(0.4 * N_ROI)
        which = rng.randint(0, N_PART_BOX, n_near)
        jit = rng.randn(n_near, 4) * 0.15 * np.tile(hw[which], 2)
        near = np.concatenate([ptl[which], ptl[which] + hw[which]], 1) + jit
        rtl = rng.uniform(0, SIZE * 0.9, (N_ROI - n_near, 2))
        rand = np.concatenate([rtl, rtl + rng.uniform(10, SIZE * 0.3, (N_ROI - n_near, 2))], 1)
        roi = np.concatenate([near, rand])
        roi[:, 2:] = np.maximum(roi[:, 2:], roi[:, :2] + 4)
        roi = np.clip(roi, 0, SIZE).astype(np.float32)
        # inside a subject (IoA >= 0.8) -> candidate for that subject's part classes
        inside = _ioa(roi, subj) >= 0.8
        has = np.zeros((N_SUBJECT, N_CLASS), bool)
        for s in range(N_SUBJECT):
            has[s, rng.choice(part_cols, PARTS_PER_SUBJECT, replace=False)] = True
        ignore.append(inside.astype(np.float32).dot(has.astype(np.float32)) > 0)
        rois.append(roi)
        roi_indices.append(np.full(N_ROI, i, np.int32))
    rois = np.concatenate(rois)
    scores = rng.randn(len(rois), N_CLASS).astype(np.float32)   # logits
    return np.concatenate(ignore), scores, rois, np.concatenate(roi_indices)


def loop_mask(ignore, scores, rois, roi_indices, iou_thresh=0.5):
    """The peer: per image, per class, a Python greedy NMS (any overlap suppresses)."""
    out = np.zeros_like(ignore)
    for i in np.unique(roi_indices):
        idx = np.where(roi_indices == i)[0]
        iou = bbox_iou(rois[idx], rois[idx])
        for c in np.where(ignore[idx].any(axis=0))[0]:
            cand = np.where(ignore[idx, c])[0]
            kept = []
            for r in cand[np.argsort(-scores[idx[cand], c], kind='stable')]:
                if not any(iou[r, k] > 0 and scores[idx[k], c] > scores[idx[r], c]
                           for k in kept):
                    kept.append(r)
            for r in cand:
                out[idx[r], c] = any(iou[r, k] >= iou_thresh - 1e-6 for k in kept)
    return out


def median_time(func, repeat=N_REPEAT):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def main():
    ignore, scores, rois, roi_indices = make_input()
    print('cores: {}  OMP_NUM_THREADS={}  load average: {:.1f}'.format(
        os.cpu_count(), os.environ.get('OMP_NUM_THREADS', '(unset)'), os.getloadavg()[0]))
    print('input: {} images x {} RoIs, {} classes ({} parts); {} candidate entries '
          '({:.1f} part classes per RoI inside a subject); median of {}'.format(
              N_IMAGE, N_ROI, N_CLASS, N_PART, int(ignore.sum()),
              ignore.sum() / max(ignore.any(axis=1).sum(), 1), N_REPEAT))
    t_our, ours = median_time(lambda: pseudo_box_ignore_mask(ignore, scores, rois, roi_indices))
    t_loop, loop = median_time(lambda: loop_mask(ignore, scores, rois, roi_indices), repeat=1)
    same = np.array_equal(ours, loop)
    print('still ignored: {} of {} candidates; identical to the loop: {}'.format(
        int(ours.sum()), int(ignore.sum()), 'yes' if same else 'NO'))
    print('loop (1 run): {:.1f} ms'.format(1e3 * t_loop))
    if not same:
        raise SystemExit('outputs differ')
    print('pseudo-box mask: {:.1f} ms per batch of {} x {} RoIs, {:.1f}x faster than a '
          'per-class loop'.format(1e3 * t_our, N_IMAGE, N_ROI, t_loop / t_our))


if __name__ == '__main__':
    main()

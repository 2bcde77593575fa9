"""Benchmark: pfdet.functions.roi_average_align_2d vs Chainer's CPU code.

512 RoIs x 256 channels x 7x7 output, sampling ratio 2 (the FPN head's
setting), on one 256x50x50 feature map at stride 16 (an 800x800 image).
Chainer's CPU implementation loops in Python over every output element, so it
is timed on the first 4 RoIs only (median of 3 runs) and scaled linearly to
512 (its cost is the same for every output element of a given sampling
grid). Ours: median of 5 runs, forward (and forward + backward), including the per-call sampling
plan.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_roi_align.py``
"""

import os
import time

import numpy as np

import chainer
import chainer.functions as F

from pfdet.functions import roi_average_align_2d

N_ROI, N_CHANNEL, SIZE, STRIDE = 512, 256, 50, 16
OUTSIZE, SAMPLING_RATIO = 7, 2
N_ROI_CHAINER = 4
N_REPEAT_CHAINER = 3
N_REPEAT = 5


def make_inputs(seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(1, N_CHANNEL, SIZE, SIZE).astype(np.float32)
    img = SIZE * STRIDE
    y_min, x_min = rng.uniform(0, img - 32, (2, N_ROI))
    h, w = rng.uniform(32, 400, (2, N_ROI))
    rois = np.stack((y_min, x_min, np.minimum(y_min + h, img),
                     np.minimum(x_min + w, img)), axis=1).astype(np.float32)
    gy = rng.randn(N_ROI, N_CHANNEL, OUTSIZE, OUTSIZE).astype(np.float32)
    return x, rois, np.zeros(N_ROI, np.int32), gy


def run(func, x, rois, roi_indices, gy, backward):
    xv = chainer.Variable(x)
    y = func(xv, rois, roi_indices, OUTSIZE, 1. / STRIDE, SAMPLING_RATIO)
    if backward:
        y.grad = gy
        y.backward()
    return y.array, xv.grad


def timed(func, *args, repeat=1):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = func(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def main():
    x, rois, roi_indices, gy = make_inputs()
    k = N_ROI_CHAINER
    sub = (x, rois[:k], roi_indices[:k], gy[:k])
    print('cores: {}  OMP_NUM_THREADS={}  load average: {:.1f}'.format(
        os.cpu_count(), os.environ.get('OMP_NUM_THREADS', '(unset)'),
        os.getloadavg()[0]))
    print('input: x {}, {} RoIs, outsize {}, sampling_ratio {}, '
          'spatial_scale 1/{}'.format(x.shape, N_ROI, OUTSIZE,
                                      SAMPLING_RATIO, STRIDE))

    t_ch_fwd, (y_ch, _) = timed(run, F.roi_average_align_2d, *sub, False,
                                repeat=N_REPEAT_CHAINER)
    t_ch_all, (_, gx_ch) = timed(run, F.roi_average_align_2d, *sub, True,
                                 repeat=N_REPEAT_CHAINER)
    scale = N_ROI / k
    print('chainer (CPU loop), {} RoIs (median of {}): fwd {:.2f} s, '
          'fwd+bwd {:.2f} s; x{:.0f} -> {} RoIs: fwd {:.1f} s, fwd+bwd '
          '{:.1f} s'.format(k, N_REPEAT_CHAINER, t_ch_fwd, t_ch_all, scale,
                            N_ROI, t_ch_fwd * scale, t_ch_all * scale))

    _, (y_sub, gx_sub) = timed(run, roi_average_align_2d, *sub, True)
    print('max |ours - chainer| on the {} RoIs: y {:.2e}, gx {:.2e}'.format(
        k, np.abs(y_sub - y_ch).max(), np.abs(gx_sub - gx_ch).max()))

    full = (x, rois, roi_indices, gy)
    run(roi_average_align_2d, *full, True)  # warm-up
    t_fwd, _ = timed(run, roi_average_align_2d, *full, False,
                     repeat=N_REPEAT)
    t_all, _ = timed(run, roi_average_align_2d, *full, True,
                     repeat=N_REPEAT)
    r_fwd = t_ch_fwd * scale / t_fwd
    r_all = t_ch_all * scale / t_all
    print('ours, {} RoIs (median of {}): fwd {:.1f} ms, fwd+bwd {:.1f} ms'
          .format(N_ROI, N_REPEAT, t_fwd * 1e3, t_all * 1e3))
    print('roi_average_align_2d: {} RoIs x {} ch fwd+bwd {:.1f} ms, {:.0f}x '
          'faster than chainer (extrapolated from {} RoIs)'.format(
              N_ROI, N_CHANNEL, t_all * 1e3, r_all, k))
    print('roi_average_align_2d: {} RoIs x {} ch fwd {:.1f} ms, {:.0f}x '
          'faster than chainer (extrapolated from {} RoIs)'.format(
              N_ROI, N_CHANNEL, t_fwd * 1e3, r_fwd, k))


if __name__ == '__main__':
    main()

"""Vectorised RoI average align with the semantics of Chainer's function.

Chainer's ``F.roi_average_align_2d`` runs a CUDA kernel on GPU but a Python
loop over every output element on CPU (about 19 us per element, i.e. minutes
per image for a detector head). This module gives the same function,
computed with numpy on CPU, and hands cupy inputs to Chainer's own kernel.

How the CPU path works. The bilinear weights of Chainer's RoIAlign are
separable: a sample point ``(y, x)`` contributes ``wy(y) * wx(x)`` to a pixel,
and a sample is skipped when either ``y`` or ``x`` is out of range. For each
output bin, the sample points of each axis are therefore reduced to a short
list of *taps* (pixel index, weight); the taps of a bin are the outer product
of its y taps and x taps. The forward pass gathers channel vectors of a
channel-last copy of ``x`` at the taps (contiguous reads) and takes the
weighted sum; the backward pass is the transposed sparse product, computed by
sorting the taps by target pixel and summing with :func:`numpy.add.reduceat`
(deterministic, unlike atomics).

Shapes: B = images, C = channels, H, W = feature map, R = RoIs,
OH, OW = ``outsize``, T = taps per output bin.
"""

import numbers

import numpy

import chainer
from chainer import function_node
from chainer.utils import type_check


# Values in one gathered (bins, taps, channels) block: 2 MiB of float32.
_CHUNK_ELEMS = 2 ** 19


def _pair(v):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise TypeError('expected an int or a pair, got {!r}'.format(v))
        return tuple(v)
    return v, v


class _Plan(object):

    """Sparse sampling plan of one RoIAlign call (CPU, numpy).

    Builds, for every output bin, its taps into the flattened channel-last
    feature map ``(B * H * W + 1, C)``; the last row is an all-zero row that
    taps with zero weight point to, so that (as in Chainer) a pixel that is
    sampled with weight zero never contributes, even if it holds NaN or inf.

    """

    def __init__(self, x_shape, rois, roi_indices, outh, outw,
                 spatial_scale, sampling_ratio):
        n_img, _, height, width = x_shape
        n_roi = len(rois)
        self.x_shape = x_shape
        self.n_roi = n_roi
        self.outh, self.outw = outh, outw
        self.dummy = n_img * height * width

        rois = numpy.asarray(rois, dtype=numpy.float64)
        roi_indices = numpy.asarray(roi_indices)
        bad = ~numpy.isfinite(rois).all(axis=1)
        if bad.any():
            raise ValueError(
                'roi_average_align_2d: rois must be finite; RoI {} is {}'
                .format(int(numpy.flatnonzero(bad)[0]),
                        rois[bad][0].tolist()))
        bad = (roi_indices < 0) | (roi_indices >= n_img)
        if bad.any():
            i = int(numpy.flatnonzero(bad)[0])
            raise ValueError(
                'roi_average_align_2d: roi_indices[{}] = {} is out of range '
                'for a batch of {} images'.format(
                    i, int(roi_indices[i]), n_img))

        # Same float64 arithmetic as Chainer's CPU code.
        start_h = rois[:, 0] * spatial_scale
        start_w = rois[:, 1] * spatial_scale
        size_h = numpy.maximum(rois[:, 2] * spatial_scale - start_h, 1.)
        size_w = numpy.maximum(rois[:, 3] * spatial_scale - start_w, 1.)
        if sampling_ratio[0] is None:
            grid_h = numpy.ceil(size_h / outh).astype(numpy.int64)
        else:
            grid_h = numpy.full(n_roi, sampling_ratio[0], dtype=numpy.int64)
        if sampling_ratio[1] is None:
            grid_w = numpy.ceil(size_w / outw).astype(numpy.int64)
        else:
            grid_w = numpy.full(n_roi, sampling_ratio[1], dtype=numpy.int64)

        # RoIs with the same sampling grid are processed together.
        key = grid_h * (int(grid_w.max(initial=0)) + 1) + grid_w
        _, group_of_roi = numpy.unique(key, return_inverse=True)
        self.groups = []
        for g in range(int(group_of_roi.max(initial=-1)) + 1):
            roi_ids = numpy.flatnonzero(group_of_roi == g)
            gh, gw = int(grid_h[roi_ids[0]]), int(grid_w[roi_ids[0]])
            y_idx, y_wgt = _axis_taps(
                start_h[roi_ids], size_h[roi_ids], outh, gh, height)
            x_idx, x_wgt = _axis_taps(
                start_w[roi_ids], size_w[roi_ids], outw, gw, width)
            base = roi_indices[roi_ids].astype(numpy.int64) * height * width
            # (Rg, OH, OW, TY, TX) -> (Rg * OH * OW, TY * TX)
            tap = (base[:, None, None, None, None]
                   + y_idx[:, :, None, :, None] * width
                   + x_idx[:, None, :, None, :])
            wgt = (y_wgt[:, :, None, :, None] * x_wgt[:, None, :, None, :]
                   / (gh * gw))
            n_tap = tap.shape[3] * tap.shape[4]
            tap = tap.reshape(-1, n_tap)
            wgt = wgt.reshape(-1, n_tap)
            tap[wgt == 0] = self.dummy
            self.groups.append((roi_ids, tap, wgt))
        self._transposed = None

    def _out_rows(self, roi_ids):
        """Rows of the (R * OH * OW, C) output that a group writes."""
        n_bin = self.outh * self.outw
        return (roi_ids[:, None] * n_bin
                + numpy.arange(n_bin)[None, :]).ravel()

    def forward(self, x):
        """Pools ``x`` (B, C, H, W) into (R, C, OH, OW)."""
        n_channel = x.shape[1]
        dtype = numpy.promote_types(x.dtype, numpy.float32)
        x_t = numpy.zeros((self.dummy + 1, n_channel), dtype=dtype)
        x_t[:-1] = x.transpose((0, 2, 3, 1)).reshape(-1, n_channel)
        y_t = numpy.zeros((self.n_roi * self.outh * self.outw, n_channel),
                          dtype=dtype)
        for roi_ids, tap, wgt in self.groups:
            _gather_sum(x_t, tap, wgt, self._out_rows(roi_ids), y_t)
        y = y_t.reshape(self.n_roi, self.outh, self.outw, n_channel)
        return numpy.ascontiguousarray(
            y.transpose((0, 3, 1, 2))).astype(x.dtype, copy=False)

    def _transposed_taps(self):
        # The transposed sparse matrix in sliced-ELL form: blocks of target
        # pixels with similar tap counts, each block padded to its largest
        # count with zero-weight taps on the zero row. Built once per plan.
        if self._transposed is not None:
            return self._transposed
        tgts, srcs, wgts = [], [], []
        for roi_ids, tap, wgt in self.groups:
            rows = self._out_rows(roi_ids)
            keep = tap != self.dummy
            tgts.append(tap[keep])
            srcs.append(numpy.broadcast_to(rows[:, None], tap.shape)[keep])
            wgts.append(wgt[keep])
        if not tgts or sum(len(t) for t in tgts) == 0:
            self._transposed = []
            return self._transposed
        tgt = numpy.concatenate(tgts)
        order = numpy.argsort(tgt, kind='stable')
        tgt = tgt[order]
        # Pad taps point to the zero row appended after the R * OH * OW rows.
        src = numpy.r_[numpy.concatenate(srcs)[order],
                       self.n_roi * self.outh * self.outw]
        wgt = numpy.r_[numpy.concatenate(wgts)[order], 0.]
        pad = len(src) - 1
        target, first, count = numpy.unique(
            tgt, return_index=True, return_counts=True)
        by_count = numpy.argsort(-count, kind='stable')
        blocks = []
        pos = 0
        while pos < len(by_count):
            width = int(count[by_count[pos]])
            n = max(1, _CHUNK_ELEMS // (width * self.x_shape[1]))
            sel = by_count[pos:pos + n]
            k = numpy.arange(width)
            take = first[sel][:, None] + k
            take[k >= count[sel][:, None]] = pad
            blocks.append((target[sel], src[take], wgt[take]))
            pos += n
        self._transposed = blocks
        return blocks

    def backward(self, gy):
        """Transposed pooling: (R, C, OH, OW) into (B, C, H, W)."""
        n_img, _, height, width = self.x_shape
        n_channel = gy.shape[1]
        dtype = numpy.promote_types(gy.dtype, numpy.float32)
        gy_t = numpy.zeros((self.n_roi * self.outh * self.outw + 1,
                            n_channel), dtype=dtype)
        gy_t[:-1] = gy.transpose((0, 2, 3, 1)).reshape(-1, n_channel)
        gx_t = numpy.zeros((self.dummy, n_channel), dtype=dtype)
        for target, src, wgt in self._transposed_taps():
            _gather_sum(gy_t, src, wgt, target, gx_t)
        gx = gx_t.reshape(n_img, height, width, n_channel)
        return numpy.ascontiguousarray(
            gx.transpose((0, 3, 1, 2))).astype(gy.dtype, copy=False)


def _gather_sum(table, idx, wgt, rows, out):
    """``out[rows[i]] = sum_t wgt[i, t] * table[idx[i, t]]``, in chunks.

    Chunks keep the gathered (n, T, C) block around ``_CHUNK_ELEMS`` values,
    small enough to stay in cache.

    """
    n_tap = idx.shape[1]
    wgt = wgt.astype(table.dtype)
    step = max(1, _CHUNK_ELEMS // (n_tap * table.shape[1]))
    for s in range(0, len(idx), step):
        out[rows[s:s + step]] = numpy.matmul(
            wgt[s:s + step, None, :], table[idx[s:s + step]])[:, 0]


def _axis_taps(start, size, outsize, grid, limit):
    """Taps of one axis for RoIs sharing the same sampling grid.

    Args:
        start, size (numpy.ndarray): (Rg,) float64 RoI start and extent
            (already scaled and floored at 1, as in Chainer).
        outsize (int): Bins along the axis.
        grid (int): Sample points per bin along the axis.
        limit (int): Feature map extent along the axis.

    Returns:
        (numpy.ndarray, numpy.ndarray): pixel indices (Rg, outsize, T) int64
        and weights (Rg, outsize, T) float64 (zero for taps that Chainer
        skips). Taps of a bin are merged into a window of consecutive
        pixels when that is shorter than the ``2 * grid`` raw taps.

    """
    bin_size = (size / outsize)[:, None, None]
    p = numpy.arange(outsize, dtype=numpy.float64)[:, None]
    i = numpy.arange(grid, dtype=numpy.float64)
    # Same order of operations as Chainer, so positions match bit for bit.
    pos = (start[:, None, None] + p * bin_size) + (i + .5) * bin_size / grid
    valid = (pos >= -1) & (pos <= limit)
    low = numpy.floor(pos)
    low[low == limit] = limit - 1
    high = low + 1
    pos = numpy.where(low <= -1, 0., numpy.where(high >= limit,
                                                 limit - 1., pos))
    w_low = numpy.where(valid & (low >= 0), high - pos, 0.)
    w_high = numpy.where(valid & (high <= limit - 1), pos - low, 0.)
    idx = numpy.concatenate((low, high), axis=2)
    wgt = numpy.concatenate((w_low, w_high), axis=2)
    idx = numpy.clip(idx, 0, limit - 1).astype(numpy.int64)

    n_raw = 2 * grid
    used = wgt > 0
    lo = numpy.where(used, idx, limit).min(axis=2, initial=limit)
    hi = numpy.where(used, idx, -1).max(axis=2, initial=-1)
    span = int(max(0, (hi - lo).max(initial=-1) + 1))
    if 0 < span < n_raw:
        lo = numpy.minimum(lo, limit - span)
        n_roi = len(start)
        rel = idx - lo[:, :, None]
        flat = ((numpy.arange(n_roi * outsize).reshape(n_roi, outsize, 1)
                 * span) + numpy.clip(rel, 0, span - 1))
        merged = numpy.bincount(
            flat[used], weights=wgt[used],
            minlength=n_roi * outsize * span).reshape(n_roi, outsize, span)
        idx = lo[:, :, None] + numpy.arange(span)
        wgt = merged
    return idx, wgt


def _check_outsize(outsize):
    outh, outw = _pair(outsize)
    for name, v in (('outsize[0]', outh), ('outsize[1]', outw)):
        if not (isinstance(v, numbers.Integral) and v > 0):
            raise TypeError('{} must be a positive integer: {!r}'.format(
                name, v))
    return int(outh), int(outw)


def _check_spatial_scale(spatial_scale):
    if isinstance(spatial_scale, numbers.Integral):
        spatial_scale = float(spatial_scale)
    if not (isinstance(spatial_scale, numbers.Real) and spatial_scale > 0):
        raise TypeError('spatial_scale must be a positive float number: '
                        '{!r}'.format(spatial_scale))
    return float(spatial_scale)


def _check_sampling_ratio(sampling_ratio):
    sampling_ratio = _pair(sampling_ratio)
    for s in sampling_ratio:
        if not (s is None or (isinstance(s, numbers.Integral) and s >= 1)):
            raise TypeError('sampling_ratio must be None, an integer >= 1 '
                            'or a pair of them: {!r}'.format(sampling_ratio))
    return tuple(None if s is None else int(s) for s in sampling_ratio)


class ROIAverageAlign2D(function_node.FunctionNode):

    """RoI average align over a set of 2d planes (vectorised CPU node).

    See :func:`roi_average_align_2d`. Use that function: it dispatches GPU
    arrays to Chainer's implementation.

    """

    def __init__(self, outsize, spatial_scale, sampling_ratio=None):
        self.outh, self.outw = _check_outsize(outsize)
        self.spatial_scale = _check_spatial_scale(spatial_scale)
        self.sampling_ratio = _check_sampling_ratio(sampling_ratio)

    def check_type_forward(self, in_types):
        type_check._argname(in_types, ('x', 'rois', 'roi_indices'))
        x_type, roi_type, roi_index_type = in_types
        type_check.expect(
            x_type.dtype.kind == 'f',
            x_type.ndim == 4,
            roi_type.dtype.kind == 'f',
            roi_type.ndim == 2,
            roi_type.shape[1] == 4,
            roi_index_type.dtype.kind == 'i',
            roi_index_type.ndim == 1,
            roi_type.shape[0] == roi_index_type.shape[0],
        )

    def forward_cpu(self, inputs):
        x, rois, roi_indices = inputs
        self.plan = _Plan(x.shape, rois, roi_indices, self.outh, self.outw,
                          self.spatial_scale, self.sampling_ratio)
        return self.plan.forward(x),

    def backward(self, indexes, grad_outputs):
        gx, = _ROIAverageAlignTranspose(self.plan).apply(grad_outputs)
        return gx, None, None


class _ROIAverageAlignApply(function_node.FunctionNode):

    # Pooling with a fixed plan (the gradient of the transposed pooling).

    def __init__(self, plan):
        self.plan = plan

    def forward_cpu(self, inputs):
        return self.plan.forward(inputs[0]),

    def backward(self, indexes, grad_outputs):
        return _ROIAverageAlignTranspose(self.plan).apply(grad_outputs)


class _ROIAverageAlignTranspose(function_node.FunctionNode):

    # Transposed pooling (the gradient w.r.t. x); linear, so its own
    # gradient is the pooling again and double backprop works.

    def __init__(self, plan):
        self.plan = plan

    def forward_cpu(self, inputs):
        return self.plan.backward(inputs[0]),

    def backward(self, indexes, grad_outputs):
        return _ROIAverageAlignApply(self.plan).apply(grad_outputs)


def roi_average_align_2d(x, rois, roi_indices, outsize, spatial_scale,
                         sampling_ratio=None):
    """RoI average align, vectorised on CPU, Chainer's kernel on GPU.

    Same signature and results as
    :func:`chainer.functions.roi_average_align_2d` (Mask R-CNN RoIAlign:
    bilinear samples averaged per bin). On CPU it is vectorised numpy
    (thousands of times faster than Chainer's per-element Python loop, which
    takes about 20 us per output value); for GPU arrays it calls Chainer's
    function (its CUDA kernel), which requires float32 ``x`` and ``rois``
    and int32 ``roi_indices`` (this path is not tested here: no GPU).

    Semantics, as in Chainer: RoI coordinates are multiplied by
    ``spatial_scale``; RoI height and width are floored at 1; each bin holds
    ``sampling_ratio`` sample points per axis, or ``ceil(roi_size / outsize)``
    per axis (per RoI) when it is :obj:`None`; a sample with coordinate
    ``< -1`` or ``> size`` contributes zero but still counts in the average;
    samples in ``[-1, 0)`` or ``[size - 1, size]`` are clamped to the border
    pixel. There is no gradient w.r.t. ``rois``.

    Differences from Chainer's CPU code: ``x`` may be float16, float32 or
    float64 (computed in at least float32), ``rois`` any float dtype and
    ``roi_indices`` any integer dtype; the result matches Chainer's to float32
    rounding (sums are taken in ``x``'s precision instead of float64).
    Non-finite ``rois`` and out-of-range ``roi_indices`` raise
    :class:`ValueError` naming the RoI. The backward pass is deterministic
    and differentiable (double backprop). Work and memory are proportional
    to the taps: ``OH * OW * T`` per RoI, with ``T = 16`` for
    ``sampling_ratio=2``; with :obj:`None`, ``T`` grows as
    ``(roi_size / outsize) ** 2`` (as does Chainer's work).

    .. csv-table::
        :header: name, shape, dtype, format

        :obj:`x`, ":math:`(B, C, H, W)`", float32 (also float16/64 on CPU), --
        :obj:`rois`, ":math:`(R, 4)`", float32, ":math:`(y_{min}, x_{min},
        y_{max}, x_{max})` in input-image pixels"
        :obj:`roi_indices`, ":math:`(R,)`", int32, "image of each RoI,
        in :math:`[0, B)`"
        output, ":math:`(R, C, OH, OW)`", same as :obj:`x`, --

    Args:
        x (~chainer.Variable or :ref:`ndarray`): Feature maps.
        rois (~chainer.Variable or :ref:`ndarray`): RoIs.
        roi_indices (~chainer.Variable or :ref:`ndarray`): Image indices.
        outsize ((int, int) or int): Output size ``(OH, OW)``; ``o`` means
            ``(o, o)``.
        spatial_scale (float): Scale from RoI coordinates to ``x``'s grid,
            e.g. ``1 / 16`` for a stride-16 feature map.
        sampling_ratio ((int, int) or int or None): Sample points per bin
            per axis (``(sampling_ratio_h, sampling_ratio_w)``); :obj:`None`
            chooses ``ceil(roi_size / outsize)`` per RoI and axis.

    Returns:
        ~chainer.Variable: Pooled features of shape :math:`(R, C, OH, OW)`.

    """
    xp = chainer.backend.get_array_module(x)
    if xp is not numpy:
        return chainer.functions.roi_average_align_2d(
            x, rois, roi_indices, outsize, spatial_scale, sampling_ratio)
    node = ROIAverageAlign2D(outsize, spatial_scale, sampling_ratio)
    return node.apply((x, rois, roi_indices))[0]

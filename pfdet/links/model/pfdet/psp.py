"""Size-agnostic pyramid pooling (PSPNet) for detection inputs.

ChainerCV's :class:`~chainercv.experimental.links.model.pspnet.\
PyramidPoolingModule` fixes its pooling kernels from a constant feature
size at construction. Detection inputs change size from batch to batch, so
here the pooling windows are computed from the actual (H, W) of every
forward pass.

"""

from __future__ import division

import numpy as np

import chainer
import chainer.functions as F

from chainercv.links import Conv2DBNActiv


def _pooling_matrix(size, n_bin):
    # Row i averages the pixels [floor(i * size / n), ceil((i + 1) * size / n))
    # (adaptive average pooling, as torch.nn.AdaptiveAvgPool2d).
    i = np.arange(n_bin)
    start = (i * size) // n_bin
    end = -((-(i + 1) * size) // n_bin)
    pix = np.arange(size)
    inside = (pix[None] >= start[:, None]) & (pix[None] < end[:, None])
    return (inside / (end - start)[:, None]).astype(np.float32)


def adaptive_average_pooling_2d(x, outsize):
    """Adaptive average pooling to a fixed output size.

    Output cell (i, j) is the mean of the input rows
    :math:`[\\lfloor iH/h \\rfloor, \\lceil (i+1)H/h \\rceil)` and columns
    :math:`[\\lfloor jW/w \\rfloor, \\lceil (j+1)W/w \\rceil)`, the
    definition of PyTorch's ``AdaptiveAvgPool2d``. Windows may overlap and
    an input smaller than :obj:`outsize` is allowed. It is computed as two
    matrix products, so it is vectorized and differentiable on CPU and GPU.

    Args:
        x (~chainer.Variable or array): (B, C, H, W).
        outsize (int or tuple of ints): (h, w) of the output.

    Returns:
        ~chainer.Variable: (B, C, h, w).

    """
    if isinstance(outsize, int):
        outsize = (outsize, outsize)
    oh, ow = outsize
    B, C, H, W = x.shape
    dtype = x.dtype
    ph = _pooling_matrix(H, oh).astype(dtype)
    pw = _pooling_matrix(W, ow).astype(dtype)
    array = x.array if isinstance(x, chainer.Variable) else x
    device = chainer.backend.get_device_from_array(array)
    ph = device.send(ph)
    pw = device.send(pw)
    h = F.linear(F.reshape(x, (B * C * H, W)), pw)          # (BCH, ow)
    h = F.transpose(F.reshape(h, (B * C, H, ow)), (0, 2, 1))
    h = F.linear(F.reshape(h, (B * C * ow, H)), ph)         # (BC ow, oh)
    h = F.transpose(F.reshape(h, (B, C, ow, oh)), (0, 1, 3, 2))
    return h


class PSP(chainer.Chain):

    """Pyramid pooling module applied to C5 (PFDet: "PSP", paper §2).

    For every bin count :math:`b` of :obj:`bins`, the input is average
    pooled to :math:`b \\times b` cells (adaptive pooling, computed from the
    actual input size), a 1x1 Conv-BN-ReLU reduces it to
    :obj:`mid_channels`, and bilinear interpolation brings it back to the
    input size. The input and the branches are concatenated along the
    channels:

    .. csv-table::
        :header: name, shape, dtype

        input, ":math:`(B, C, H, W)`", float32
        output, ":math:`(B, C + n_{bin} C_{mid}, H, W)`", float32

    Args:
        in_channels (int): :math:`C`.
        bins (tuple of ints): The pyramid levels, (1, 2, 3, 6) as PSPNet.
        mid_channels (int): :math:`C_{mid}`; :obj:`None` gives
            :math:`C / n_{bin}` (PSPNet's rule: :math:`C / 4` for four bins).
        initialW (callable): Initializer of the 1x1 convolutions.
        bn_kwargs (dict): Keyword arguments of the BN layers (e.g.
            :obj:`{'comm': comm}` for multi-node BN; or convert them later
            with :func:`~pfdet.links.model.pfdet.backbones.set_bn_mode`).

    Parameters:
        out_channels (int): :math:`C + n_{bin} C_{mid}`.

    """

    def __init__(self, in_channels, bins=(1, 2, 3, 6), mid_channels=None,
                 initialW=None, bn_kwargs={}):
        bins = tuple(int(b) for b in bins)
        if len(bins) == 0 or min(bins) < 1:
            raise ValueError('bins must be positive integers: {}'.format(
                bins))
        if mid_channels is None:
            mid_channels = in_channels // len(bins)
        super(PSP, self).__init__()
        with self.init_scope():
            self.convs = chainer.ChainList(*[
                Conv2DBNActiv(in_channels, mid_channels, 1, 1, 0,
                              initialW=initialW, bn_kwargs=bn_kwargs)
                for _ in bins])
        self.bins = bins
        self.in_channels = in_channels
        self.mid_channels = mid_channels
        self.out_channels = in_channels + len(bins) * mid_channels

    def forward(self, x):
        """Apply pyramid pooling.

        Args:
            x (~chainer.Variable or array): (B, C, H, W).

        Returns:
            ~chainer.Variable: (B, C + n_bin * C_mid, H, W).

        """
        B, _, H, W = x.shape
        ys = [x]
        for n_bin, conv in zip(self.bins, self.convs):
            y = conv(adaptive_average_pooling_2d(x, n_bin))
            if n_bin == 1:
                y = F.broadcast_to(y, y.shape[:2] + (H, W))
            else:
                y = F.resize_images(y, (H, W))
            ys.append(y)
        return F.concat(ys, axis=1)

"""Test helpers of the PFDet tests: a small learnable stub extractor."""

import numpy as np

import chainer
import chainer.functions as F
import chainer.links as L


class StubExtractor(chainer.Chain):
    """Two stride-2 convolutions, then average-pooled levels.

    Fulfils the extractor contract (``forward`` -> list of K maps,
    ``scales``, ``mean``, ``n_channel``) without a backbone, as ChainerCV's
    detector tests do.
    """

    def __init__(self, n_channel=8, n_level=5):
        super(StubExtractor, self).__init__()
        self.scales = tuple(1 / 2 ** (2 + l) for l in range(n_level))
        self.mean = np.full((3, 1, 1), 100, dtype=np.float32)
        self.n_channel = n_channel
        with self.init_scope():
            self.conv1 = L.Convolution2D(3, n_channel, 3, stride=2, pad=1)
            self.conv2 = L.Convolution2D(
                n_channel, n_channel, 3, stride=2, pad=1)

    def forward(self, x):
        h = F.relu(self.conv1(x / 100))
        hs = [F.relu(self.conv2(h))]
        while len(hs) < len(self.scales):
            hs.append(F.average_pooling_2d(hs[-1], 2, stride=2))
        return hs


def limit_proposals(model, pre=200, post=100):
    """Fewer RPN proposals for tiny images (the defaults are 2000/1000)."""
    rpn = model.rpn
    rpn._train_nms_limit_pre = pre
    rpn._train_nms_limit_post = post
    rpn._test_nms_limit_pre = pre
    rpn._test_nms_limit_post = post
    return model

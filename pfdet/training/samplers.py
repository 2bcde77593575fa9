"""Order samplers for Chainer iterators: deterministic shuffling and class-aware sampling.

Both are ``order_sampler`` callables for ``SerialIterator`` / ``MultiprocessIterator``:
``sampler(current_order, current_position) -> new_order``. Their randomness is a pure
function of ``(seed, current_order, current_position)``; the iterator's ``order`` is part of
every trainer snapshot, so a resumed run draws the same epochs as an uninterrupted one.
"""

import zlib

import numpy as np


def _rng(seed, current_order, current_position):
    order = np.ascontiguousarray(current_order, dtype=np.int64)
    entropy = list(np.atleast_1d(seed).astype(np.int64)) + [
        zlib.crc32(order.tobytes()), len(order), int(current_position)]
    return np.random.RandomState(np.random.SeedSequence(
        [int(abs(e)) for e in entropy]).generate_state(1)[0])


def _class_image_pairs(labels):
    """Distinct ``(class, image index)`` pairs of per-image label arrays, as an (P, 2)
    int64 array sorted by class, then image."""
    lengths = np.array([len(lb) for lb in labels], dtype=np.int64)
    if not lengths.sum():
        return np.zeros((0, 2), np.int64)
    img_index = np.repeat(np.arange(len(labels), dtype=np.int64), lengths)
    cls = np.concatenate([np.asarray(lb, dtype=np.int64).ravel() for lb in labels])
    return np.unique(np.stack([cls, img_index], axis=1), axis=0)


class ShuffleOrderSampler(object):
    """A random permutation per epoch, reproducible from the previous order.

    Args:
        seed (int or tuple of int): Base seed (mix in the rank for multi-node runs).

    """

    def __init__(self, seed=0):
        self.seed = seed

    def __call__(self, current_order, current_position):
        return _rng(self.seed, current_order, current_position).permutation(len(current_order))


class ClassAwareOrderSampler(object):
    """Class-aware sampling (Shen et al., 2016): a uniform class, then a uniform image of it.

    Each epoch has ``len(labels)`` draws. A draw picks a class uniformly among the classes
    present in the (local) dataset, then an image uniformly among the images holding a box of
    that class, so that rare classes are seen as often as frequent ones. Images without any
    box are never drawn (their number is in :attr:`n_unsampleable`).

    Args:
        labels (list of numpy.ndarray): The box labels of every image, in dataset order.
        seed (int or tuple of int): Base seed (mix in the rank for multi-node runs).

    Attributes:
        classes (numpy.ndarray): The classes present, sorted.
        n_unsampleable (int): Number of images without any box.

    """

    def __init__(self, labels, seed=0):
        self.seed = seed
        n = len(labels)
        pairs = _class_image_pairs(labels)
        # ``pairs`` is sorted by class, then image: a CSR layout class -> images.
        self.classes, starts, counts = np.unique(
            pairs[:, 0], return_index=True, return_counts=True)
        self._starts = starts
        self._counts = counts
        self._images = pairs[:, 1]
        self.n_unsampleable = int(n - len(np.unique(self._images)))
        if n and not len(self.classes):
            raise ValueError('class-aware sampling needs at least one image with a box')

    def __call__(self, current_order, current_position):
        rng = _rng(self.seed, current_order, current_position)
        n = len(current_order)
        k = rng.randint(len(self.classes), size=n)
        j = (rng.random_sample(n) * self._counts[k]).astype(np.int64)
        return self._images[self._starts[k] + j]


class RepeatFactorOrderSampler(object):
    """Repeat-factor sampling (Gupta et al., LVIS, 2019): images of rare classes more often.

    With :math:`f_c` the fraction of images that hold a box of class :math:`c`, the class
    repeat factor is :math:`r_c = \\max(1, \\sqrt{t / f_c})` and the image repeat factor is
    :math:`r_i = \\max_{c \\in i} r_c` (1 for an image without boxes). Each epoch draws
    ``len(labels)`` images with replacement, image :math:`i` with probability
    :math:`r_i / \\sum_j r_j`. Gentler than class-aware sampling: frequent classes keep
    their share, only classes rarer than :math:`t` are boosted, by at most
    :math:`\\sqrt{t / f_c}`.

    Args:
        labels (list of numpy.ndarray): The box labels of every image, in dataset order.
        thresh (float): :math:`t`.
        seed (int or tuple of int): Base seed (mix in the rank for multi-node runs).

    Attributes:
        repeat_factors (numpy.ndarray): :math:`r_i` of every image.

    """

    def __init__(self, labels, thresh=0.1, seed=0):
        if not 0 < thresh <= 1:
            raise ValueError('repeat-factor threshold must be in (0, 1], got {}'.format(thresh))
        self.seed = seed
        n = len(labels)
        pairs = _class_image_pairs(labels)
        n_img_of_class = np.bincount(pairs[:, 0]) if len(pairs) else np.zeros(0, np.int64)
        with np.errstate(divide='ignore'):
            r_class = np.maximum(1.0, np.sqrt(thresh * n / np.maximum(n_img_of_class, 1)))
        self.repeat_factors = np.ones(n, dtype=np.float64)
        if len(pairs):
            np.maximum.at(self.repeat_factors, pairs[:, 1], r_class[pairs[:, 0]])
        self._p = self.repeat_factors / self.repeat_factors.sum() if n else None

    def __call__(self, current_order, current_position):
        rng = _rng(self.seed, current_order, current_position)
        return rng.choice(len(self.repeat_factors), size=len(current_order), p=self._p)

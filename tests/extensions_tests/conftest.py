import chainer
from chainer.datasets import TupleDataset
import numpy as np
import pytest


class OIDStubLink(chainer.Link):
    """A detector whose ``predict`` looks predictions up by image.

    Each image is filled with its index, so predictions do not depend on how
    batches are split among workers.
    """

    def __init__(self, predictions):
        super(OIDStubLink, self).__init__()
        self.predictions = predictions

    def predict(self, imgs):
        preds = [self.predictions[int(img[0, 0, 0])] for img in imgs]
        return tuple(list(x) for x in zip(*preds))


def make_oid_data(seed, n_img=23, n_class=4, mode='noisy'):
    """A seeded dataset of ``(img, bbox, label, is_group_of, img_label)``
    and per-image predictions: the ground truth replayed (``'gt'``) or
    jittered with extra boxes, some of unverified classes (``'noisy'``)."""
    rng = np.random.RandomState(seed)
    imgs, bboxes, labels, groups, img_labels, preds = [], [], [], [], [], []
    for i in range(n_img):
        n = rng.randint(0, 6)
        yx = rng.uniform(0, 60, size=(n, 2))
        bbox = np.concatenate([yx, yx + rng.uniform(4, 30, (n, 2))], 1)
        label = rng.randint(0, n_class, n).astype(np.int32)
        group = rng.uniform(size=n) < .3
        img_label = np.unique(np.concatenate(
            [label, rng.randint(0, n_class, 1)])).astype(np.int32)
        imgs.append(np.full((3, 8, 8), i, dtype=np.float32))
        bboxes.append(bbox.astype(np.float32))
        labels.append(label)
        groups.append(group)
        img_labels.append(img_label)
        if mode == 'gt':
            pb, pl = bbox, label
        else:
            k = rng.randint(0, 8)
            yx = rng.uniform(0, 60, size=(k, 2))
            pb = np.concatenate([bbox + rng.normal(0, 3, bbox.shape),
                                 np.concatenate([yx, yx + 10], 1)])
            pl = np.concatenate([label, rng.randint(0, n_class, k)])
        preds.append((pb.astype(np.float32), pl.astype(np.int32),
                      rng.uniform(.01, 1, len(pb)).astype(np.float32)))
    dataset = TupleDataset(imgs, bboxes, labels, groups, img_labels)
    return dataset, preds


@pytest.fixture
def oid_data():
    return make_oid_data


@pytest.fixture
def oid_stub_link():
    return OIDStubLink

import numpy as np
import pytest

import chainer

from pfdet.training import ClassAwareOrderSampler
from pfdet.training import ShuffleOrderSampler


def test_shuffle_is_a_permutation_and_deterministic():
    s = ShuffleOrderSampler(seed=3)
    a = s(np.arange(10), 0)
    assert sorted(a) == list(range(10))
    np.testing.assert_array_equal(a, ShuffleOrderSampler(seed=3)(np.arange(10), 0))
    b = s(a, 10)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(b, s(a, 10))
    assert not np.array_equal(a, ShuffleOrderSampler(seed=(3, 1))(np.arange(10), 0))


def test_class_aware_frequencies():
    # class 0 in 9 images, class 1 in one image (index 9); image 10 has no box
    labels = [np.array([0])] * 9 + [np.array([1, 0])] + [np.zeros(0, np.int32)]
    s = ClassAwareOrderSampler(labels, seed=0)
    assert s.n_unsampleable == 1
    np.testing.assert_array_equal(s.classes, [0, 1])
    order = np.arange(len(labels))
    draws = []
    for i in range(400):
        order = s(order, len(order))
        draws.append(order)
    draws = np.concatenate(draws)
    assert 10 not in draws
    # P(image 9) = P(class 1) + P(class 0) / 10 = 0.5 + 0.05
    assert np.mean(draws == 9) == pytest.approx(0.55, abs=0.02)
    # every other image: 0.5 / 10
    assert np.mean(draws == 3) == pytest.approx(0.05, abs=0.01)


def test_class_aware_needs_a_box():
    with pytest.raises(ValueError, match='at least one image with a box'):
        ClassAwareOrderSampler([np.zeros(0, np.int32)])


def test_iterator_resume_reproduces_epochs():
    data = np.arange(7)
    s = ShuffleOrderSampler(seed=0)
    it = chainer.iterators.SerialIterator(data, 3, order_sampler=s)
    ref = [next(it) for _ in range(10)]
    it2 = chainer.iterators.SerialIterator(data, 3, order_sampler=ShuffleOrderSampler(seed=0))
    got = [next(it2) for _ in range(4)]
    state = chainer.serializers.DictionarySerializer()
    state.save(it2)
    it3 = chainer.iterators.SerialIterator(data, 3, order_sampler=ShuffleOrderSampler(seed=0))
    chainer.serializers.NpzDeserializer(state.target).load(it3)
    got += [next(it3) for _ in range(6)]
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)


def test_repeat_factor_closed_form():
    from pfdet.training import RepeatFactorOrderSampler
    # class 0 in 9 of 10 images, class 1 in image 9 only; t = 0.4:
    # r_0 = max(1, sqrt(0.4 / 0.9)) = 1, r_1 = sqrt(0.4 / 0.1) = 2, image 10 has no box (r = 1)
    labels = [np.array([0])] * 9 + [np.array([1, 1])] + [np.zeros(0, np.int32)]
    # 11 images: f_0 = 9 / 11, f_1 = 1 / 11 -> r_1 = sqrt(0.4 * 11)
    s = RepeatFactorOrderSampler(labels, thresh=0.4, seed=0)
    expected = np.ones(11)
    expected[9] = np.sqrt(0.4 * 11)
    np.testing.assert_allclose(s.repeat_factors, expected)
    order = np.arange(11)
    draws = []
    for _ in range(3000):
        order = s(order, 11)
        draws.append(order)
    draws = np.concatenate(draws)
    # 33,000 draws: standard error 0.002
    assert np.mean(draws == 9) == pytest.approx(expected[9] / expected.sum(), abs=0.008)
    np.testing.assert_array_equal(s(np.arange(11), 0), s(np.arange(11), 0))
    with pytest.raises(ValueError, match='threshold'):
        RepeatFactorOrderSampler(labels, thresh=0)

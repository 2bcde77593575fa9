import math

import numpy as np
import pytest

import chainer
from chainer import training

from pfdet.training import lr_at
from pfdet.training import make_lr_schedule
from pfdet.training import scaled_lr


def test_linear_scaling_rule():
    assert scaled_lr(0.02, 512, 16) == pytest.approx(0.64)
    assert scaled_lr(0.02, 16, 16) == pytest.approx(0.02)
    assert scaled_lr(0.01, 8, 16) == pytest.approx(0.005)


def test_cosine_closed_form():
    T = 1000
    assert lr_at(0, 0.64, T) == pytest.approx(0.64)
    assert lr_at(T // 2, 0.64, T) == pytest.approx(0.32)
    assert lr_at(T // 4, 1.0, T) == pytest.approx((math.cos(math.pi / 4) + 1) / 2)
    assert lr_at(T, 0.64, T) == pytest.approx(0.0, abs=1e-12)
    assert lr_at(T + 10, 0.64, T) == pytest.approx(0.0, abs=1e-12)


def test_cosine_monotone_after_warmup():
    lrs = np.array([lr_at(t, 1.0, 300, warmup_iteration=50) for t in range(50, 301)])
    assert np.all(np.diff(lrs) <= 1e-15)


def test_warmup_is_linear_from_ratio():
    # constant schedule isolates the warm-up factor r + (1 - r) t / t_w
    assert lr_at(0, 0.3, 100, 'constant', warmup_iteration=10, warmup_ratio=1 / 3) \
        == pytest.approx(0.1)
    assert lr_at(5, 0.3, 100, 'constant', warmup_iteration=10, warmup_ratio=1 / 3) \
        == pytest.approx(0.2)
    assert lr_at(10, 0.3, 100, 'constant', warmup_iteration=10, warmup_ratio=1 / 3) \
        == pytest.approx(0.3)


def test_warmup_multiplies_cosine():
    T, tw = 100, 20
    t = 10
    expected = 1.0 * (1 / 3 + 2 / 3 * t / tw) * (math.cos(math.pi * t / T) + 1) / 2
    assert lr_at(t, 1.0, T, warmup_iteration=tw) == pytest.approx(expected)


def test_step():
    kw = dict(schedule='step', steps=(0.5, 0.75), step_factor=0.1)
    assert lr_at(49, 1.0, 100, **kw) == pytest.approx(1.0)
    assert lr_at(50, 1.0, 100, **kw) == pytest.approx(0.1)
    assert lr_at(75, 1.0, 100, **kw) == pytest.approx(0.01)


def test_unknown_schedule():
    with pytest.raises(ValueError, match='unknown lr schedule'):
        lr_at(0, 1.0, 10, 'poly')


class _Dummy(chainer.Link):
    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.w = chainer.Parameter(np.zeros(1, np.float32))

    def __call__(self, x):
        return chainer.functions.sum(self.w * x)


def test_extension_sets_lr_each_iteration():
    model = _Dummy()
    opt = chainer.optimizers.MomentumSGD(lr=123.0)
    opt.setup(model)
    it = chainer.iterators.SerialIterator(np.ones((4, 1), np.float32), 1)
    updater = training.StandardUpdater(it, opt)
    trainer = training.Trainer(updater, (8, 'iteration'))
    seen = []
    trainer.extend(make_lr_schedule(1.0, 8, 'cosine', warmup_iteration=2))

    @training.make_extension(trigger=(1, 'iteration'), priority=-1000)
    def record(tr):
        seen.append((tr.updater.iteration, opt.lr))
    trainer.extend(record)
    trainer.run()
    # after update k the lr of update k + 1 is lr_at(k)
    for it_, lr in seen:
        assert lr == pytest.approx(lr_at(it_, 1.0, 8, warmup_iteration=2))

"""Learning-rate schedules: linear warm-up, then cosine (PFDet) or steps (ChainerCV FPN).

PFDet's poster states the cosine formula ``lr = lr0 * (cos(pi * t / T) + 1) / 2``; the
warm-up and the linear scaling rule follow ChainerCV's ``examples/fpn/train_multi.py``
(``lr0 = 0.02 * B / 16``, warm-up from ``lr0 / 3`` over 500 iterations). See
``docs/scaling.md`` and ``pfdet.md`` §3.7.
"""

import math

from chainercv.chainer_experimental.training.extensions import make_shift


def scaled_lr(base_lr, batchsize, base_batchsize):
    """Linear scaling rule: ``base_lr * batchsize / base_batchsize``.

    Args:
        base_lr (float): The learning rate tuned for ``base_batchsize`` images per update.
        batchsize (int): The global batch size (all ranks together).
        base_batchsize (int): The batch size ``base_lr`` refers to (16 in ChainerCV).

    Returns:
        float: The learning rate for ``batchsize``.

    """
    return base_lr * batchsize / base_batchsize


def lr_at(iteration, lr0, total_iteration, schedule='cosine', warmup_iteration=0,
          warmup_ratio=1 / 3, steps=(), step_factor=0.1):
    """The learning rate used by the update that follows ``iteration`` updates.

    .. math::
        lr(t) = lr_0 \\cdot w(t) \\cdot s(t), \\quad
        w(t) = r + (1 - r) \\min(t / t_w, 1)

    with :math:`s(t) = (\\cos(\\pi \\min(t, T) / T) + 1) / 2` for ``'cosine'``,
    :math:`s(t) = f^{\\#\\{k: t \\ge p_k T\\}}` for ``'step'`` and :math:`s = 1` for
    ``'constant'``. The warm-up multiplies the schedule, as in ChainerCV.

    Args:
        iteration (int): Number of updates done so far (``trainer.updater.iteration``).
        lr0 (float): Peak learning rate (after the linear scaling rule).
        total_iteration (int): :math:`T`, the length of the run.
        schedule (str): ``'cosine'``, ``'step'`` or ``'constant'``.
        warmup_iteration (int): :math:`t_w`; 0 disables the warm-up.
        warmup_ratio (float): :math:`r`, the starting fraction of the warm-up.
        steps (tuple of float): Fractions :math:`p_k` of the run at which a ``'step'``
            schedule multiplies the rate by ``step_factor``.
        step_factor (float): :math:`f`.

    Returns:
        float: The learning rate.

    """
    t = float(iteration)
    if warmup_iteration > 0 and t < warmup_iteration:
        w = warmup_ratio + (1 - warmup_ratio) * t / warmup_iteration
    else:
        w = 1.0
    if schedule == 'cosine':
        s = (math.cos(math.pi * min(t, total_iteration) / total_iteration) + 1) / 2
    elif schedule == 'step':
        s = step_factor ** sum(1 for p in steps if t >= p * total_iteration)
    elif schedule == 'constant':
        s = 1.0
    else:
        raise ValueError('unknown lr schedule: {!r}'.format(schedule))
    return lr0 * w * s


def make_lr_schedule(lr0, total_iteration, schedule='cosine', warmup_iteration=0,
                     warmup_ratio=1 / 3, steps=(), step_factor=0.1):
    """A trainer extension setting ``optimizer.lr`` from :func:`lr_at` every iteration.

    Built with ChainerCV's ``make_shift('lr')``: the value is a pure function of
    ``trainer.updater.iteration``, so a resumed trainer continues the schedule exactly.

    Returns:
        callable: The extension (register with ``trainer.extend(ext)``).

    """
    @make_shift('lr')
    def lr_schedule(trainer):
        return lr_at(trainer.updater.iteration, lr0, total_iteration, schedule,
                     warmup_iteration, warmup_ratio, steps, step_factor)
    return lr_schedule

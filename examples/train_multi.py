"""Train PFDet on several processes (ChainerMN), from one plain-Python config file.

Usage::

    mpiexec -n 2 python examples/train_multi.py --config experiments/pfdet/toy_base.py \\
        --out result/toy [--resume result/toy/snapshot_iter_500 | --resume auto] \\
        [--communicator naive]

The wiring follows ChainerCV's ``examples/fpn/train_multi.py``: ``forkserver`` start
method, a ChainerMN communicator (``pure_nccl`` with GPUs, ``naive`` on CPU), the
**indices** of the training set scattered over the ranks, a multiprocess (or serial)
iterator per rank, ``create_multi_node_optimizer``, and rank-0-only reporting. PFDet's
changes (``pfdet.md`` §6): multi-node BN, a warm-up + cosine schedule with the linear scaling
rule for the global batch, multi-scale training, optional class-aware sampling, the
co-occurrence loss, a multi-node Open Images evaluator, atomic multi-node snapshots.

Every hyper-parameter is in the config (``experiments/``); the flags only choose files.
Outputs in ``--out``: ``args`` (the resolved config, JSON), ``log``, ``loss.png``,
``map.png``, ``snapshot_iter_N`` (resume with ``--resume``) and ``model_final.npz``
(for ``evaluate.py`` / ``predict.py``).

Exit status: 0 on success, 1 when training stops on a NaN/inf loss, 2 on a bad config or
snapshot. When any rank dies (an exception, or a signal such as SIGKILL), the whole job is
terminated (``MPI_Abort`` / Open MPI's launcher) instead of hanging.
"""

import argparse
import json
import multiprocessing
import os
import sys
import time
import warnings

import numpy as np

try:
    import cv2
    cv2.setNumThreads(0)
except ImportError:  # pragma: no cover
    pass

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:  # configs import ``experiments.*``
    sys.path.insert(0, _REPO)

import chainer  # NOQA: E402
from chainer import training  # NOQA: E402
from chainer.training import extensions  # NOQA: E402

from pfdet.training import builder  # NOQA: E402
from pfdet.training import ConfigError  # NOQA: E402
from pfdet.training import find_latest_snapshot  # NOQA: E402
from pfdet.training import install_abort_on_error  # NOQA: E402
from pfdet.training import load_config  # NOQA: E402
from pfdet.training import load_snapshot  # NOQA: E402
from pfdet.training import make_lr_schedule  # NOQA: E402
from pfdet.training import MultiNodeSnapshot  # NOQA: E402
from pfdet.training import NonFiniteLossError  # NOQA: E402
from pfdet.training import plot_reports  # NOQA: E402
from pfdet.training import SnapshotError  # NOQA: E402
from pfdet.training import StopOnNonFiniteLoss  # NOQA: E402
from pfdet.training import write_npz_atomic  # NOQA: E402


warnings.filterwarnings('ignore', message=r'.* is experimental\.', category=FutureWarning)


def _env_rank():
    for key in ('OMPI_COMM_WORLD_RANK', 'PMI_RANK', 'PMIX_RANK'):
        if key in os.environ:
            return int(os.environ[key])
    return 0


def _fail(rank, message, status):
    if rank == 0:
        sys.stderr.write('error: {}\n'.format(message))
        sys.stderr.flush()
    sys.exit(status)


class _EveryOrLast(object):
    """Fire every ``interval`` iterations/epochs and at the last iteration."""

    def __init__(self, interval, last_iteration):
        self.interval = training.triggers.IntervalTrigger(*interval)
        self.last_iteration = last_iteration

    def __call__(self, trainer):
        fired = self.interval(trainer)
        return fired or trainer.updater.iteration == self.last_iteration


def _noop():
    pass


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Multi-node PFDet training (run under mpiexec).')
    parser.add_argument('--config', required=True,
                        help='plain-Python config file defining `config = dict(...)`')
    parser.add_argument('--out', default=None,
                        help='output directory (default: result/<config name>)')
    parser.add_argument('--resume', default=None,
                        help="trainer snapshot to resume from, or 'auto' for the newest "
                             'snapshot in --out')
    parser.add_argument('--communicator', default=None,
                        help='ChainerMN communicator (default: mpi.communicator of the '
                             'config, else pure_nccl with GPUs and naive on CPU)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    rank = _env_rank()
    try:
        config = load_config(args.config)
    except ConfigError as e:
        _fail(rank, e, 2)
    out = args.out or os.path.join(
        'result', os.path.splitext(os.path.basename(args.config))[0])

    # ChainerMN FAQ / ChainerCV: the iterator's worker processes come from a forkserver
    # started before MPI is initialised (forking an MPI process crashes with InfiniBand).
    multiprocessing.set_start_method('forkserver', force=True)
    if config['train']['iterator'] == 'multiprocess':
        p = multiprocessing.Process(target=_noop)
        p.start()
        p.join()

    import chainermn
    gpu = config['mpi']['gpu']
    name = args.communicator or config['mpi']['communicator'] or \
        ('pure_nccl' if gpu else 'naive')
    try:
        comm = chainermn.create_communicator(name)
    except (ValueError, RuntimeError) as e:
        _fail(rank, 'cannot create the {!r} communicator: {} (on CPU use --communicator '
                    'naive)'.format(name, e), 2)
    rank = comm.rank
    install_abort_on_error(comm)

    device = None
    if gpu:
        if not chainer.backends.cuda.available:
            _fail(rank, '{}: mpi.gpu is True but CuPy/CUDA is not available; set mpi.gpu '
                        'to False for a CPU run'.format(args.config), 2)
        device = comm.intra_rank
        chainer.backends.cuda.get_device_from_id(device).use()

    seed = config['seed']
    np.random.seed(seed)  # identical initialization on every rank (rank 0's is broadcast)

    try:
        classes = builder.load_classes(config)
        train, val, classes = builder.build_datasets(config, classes)
        model = builder.build_model(config, len(classes), comm)
        train_chain, pairs = builder.build_train_chain(config, model, classes, train, comm)
    except (ConfigError, ValueError, IOError) as e:
        # ConfigError, OIDFormatError (file and line of a bad CSV row), bad model arguments
        _fail(rank, '{}: {}'.format(args.config, e), 2)
    builder.use_eval_preset(model, config)
    if device is not None:
        train_chain.to_gpu()

    # Scatter the indices, not the dataset (pfdet.md §5.5): shards of equal length.
    indices = chainermn.scatter_dataset(
        np.arange(len(train)) if rank == 0 else None, comm, shuffle=True, seed=seed)
    indices = np.asarray(indices[:], dtype=np.int64)
    shard = train.slice[indices]
    np.random.seed(np.random.SeedSequence([seed, rank]).generate_state(1)[0])

    train_iter = builder.build_train_iterator(config, shard, model.extractor.mean, comm)
    optimizer = builder.build_optimizer(config, train_chain, comm)
    updater = training.updaters.StandardUpdater(
        train_iter, optimizer, converter=builder.train_converter)
    total = builder.total_iterations(config, len(train))
    trainer = training.Trainer(updater, (total, 'iteration'), out)

    log_cfg = config['log']
    trainer.extend(make_lr_schedule(**builder.lr_schedule_args(config, total)))
    if config['train']['stop_on_nonfinite']:
        trainer.extend(StopOnNonFiniteLoss(comm))
    trainer.extend(MultiNodeSnapshot(comm, n_keep=log_cfg['keep_snapshots']),
                   trigger=_EveryOrLast(log_cfg['snapshot_interval'], total))

    # Evaluation is collective: rank 0 iterates, every rank predicts (ChainerCV's comm=).
    val_iter = None
    if rank == 0:
        n_eval = config['eval']['n_images'] or len(val)
        val_iter = chainer.iterators.SerialIterator(
            val.slice[:n_eval, ('img', 'bbox', 'label', 'is_group_of', 'img_label')],
            config['eval']['batchsize'], repeat=False, shuffle=False)
    from pfdet.extensions import OIDChallengeEvaluator
    trainer.extend(OIDChallengeEvaluator(val_iter, model, comm=comm),
                   trigger=_EveryOrLast(config['eval']['interval'], total))

    if rank == 0:
        # Chainer's IntervalTrigger is stateful (it fires once per crossing): one per extension.
        def log_trigger():
            return _EveryOrLast(log_cfg['interval'], total)
        trainer.extend(extensions.LogReport(trigger=log_trigger()))
        trainer.extend(extensions.observe_lr(), trigger=log_trigger())
        trainer.extend(extensions.PrintReport(
            ['epoch', 'iteration', 'lr', 'main/loss', 'main/loss/rpn/loc',
             'main/loss/rpn/conf', 'main/loss/bbox_head/loc', 'main/loss/bbox_head/conf',
             'validation/main/map', 'elapsed_time']), trigger=log_trigger())
        if log_cfg['progress_bar']:
            trainer.extend(extensions.ProgressBar(
                update_interval=log_cfg['progress_update_interval']))
        if log_cfg['plot']:
            for ext in plot_reports(make_trigger=log_trigger):
                trainer.extend(ext)

    resume = args.resume
    if resume == 'auto':
        resume = find_latest_snapshot(out)
        if resume is None and rank == 0:
            print('--resume auto: no snapshot in {}, starting from scratch'.format(out))
    if resume:
        try:
            load_snapshot(resume, trainer, comm)
        except SnapshotError as e:
            _fail(rank, e, 2)

    if rank == 0:
        os.makedirs(out, exist_ok=True)
        pair_weights = None        # train_chain.cooc_reweight: 1 / ann(part | subject)
        if train_chain.cooc_pair_weights is not None:
            index = {m: i for i, m in enumerate(classes.mids)}
            pair_weights = [[s, p, float(train_chain.cooc_pair_weights[index[s], index[p]])]
                            for s, p in pairs]
        with open(os.path.join(out, 'args'), 'w') as f:
            json.dump({'config_file': args.config, 'communicator': name,
                       'n_ranks': comm.size, 'n_train_images': len(train),
                       'n_val_images': len(val), 'total_iteration': total,
                       'resume': resume, 'cooccurrence_pairs': [list(p) for p in pairs],
                       'cooccurrence_pair_weights': pair_weights,
                       'config': config}, f, indent=1, default=str)
        print('pfdet train_multi: {} rank(s), communicator {}, {} train / {} val images, '
              '{} classes, global batch {}, {} iterations{}'.format(
                  comm.size, name, len(train), len(val), len(classes),
                  config['train']['batchsize'], total,
                  ', resumed from {} (iteration {})'.format(resume, updater.iteration)
                  if resume else ''))
        sys.stdout.flush()

    start = time.time()
    try:
        # Unexpected errors are printed (with the rank) by install_abort_on_error's hook.
        trainer.run(show_loop_exception_msg=False)
    except NonFiniteLossError as e:
        _fail(rank, e, 1)

    if rank == 0:
        path = os.path.join(out, 'model_final.npz')
        s = chainer.serializers.DictionarySerializer()
        s.save(model)
        write_npz_atomic(path, s.target)
        print('pfdet train_multi: done in {:.1f} s, model written to {}'.format(
            time.time() - start, path))


if __name__ == '__main__':
    main()

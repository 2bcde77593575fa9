"""Benchmark: weak-scaling throughput of multi-node training, 1 rank vs 2 ranks.

Weak scaling: every rank keeps the same per-rank batch (``--batch`` images), so 2 ranks
process twice as many images per iteration. Each rank runs with one BLAS/OpenMP thread
(``OMP_NUM_THREADS=1``), the ``naive`` communicator (CPU), multi-node BN and
``create_multi_node_optimizer`` exactly as ``examples/train_multi.py`` builds them from
``experiments/pfdet/toy_base.py`` (with one fixed training scale, so that both ranks do the
same amount of work). Each rank trains on its own images, held in memory (no disk I/O).

Throughput is the global number of images per second over ``--iterations`` timed
iterations (after ``--warmup`` iterations), measured on rank 0 between barriers; each
configuration is run ``--repeat`` times and the median is kept. The efficiency is

    E = throughput(2 ranks) / (2 * throughput(1 rank))

(pfdet.md §3.14; PFDet reports 83% on 512 GPUs against an unstated baseline).

Run: ``.venv/bin/python benchmarks/bench_scaling.py`` (launches ``mpiexec`` itself).
``--cost`` instead prints the inputs of the 512-GPU model of ``docs/scaling.md`` for the
full-scale config (``experiments/pfdet/base.py``): parameters, gradient bytes, multi-node BN
layers and channels, and multiply-accumulates per training image (counted by a Chainer
function hook on a forward pass at ``--cost-size``, extrapolated to 800 x 1067).
The last line is the headline. On a shared machine, other processes steal cores from the
2-rank run: run it on an idle machine.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)


def worker(args):
    import warnings
    warnings.filterwarnings('ignore', category=FutureWarning)
    import numpy as np
    import chainer
    import chainermn
    from pfdet.training import builder
    from pfdet.training import load_config
    from pfdet.training import TrainTransform

    comm = chainermn.create_communicator('naive')
    config = load_config(os.path.join(_REPO, 'experiments/pfdet/toy_base.py'))
    config['dataset']['root'] = args.data
    config['train']['batchsize'] = args.batch * comm.size
    np.random.seed(0)
    classes = builder.load_classes(config)
    train = builder.build_dataset(config, 'train', classes)
    model = builder.build_model(config, len(classes), comm)
    train_chain, _ = builder.build_train_chain(config, model, classes, train, comm)
    # rank r trains on its own images, preloaded and transformed once (one fixed scale)
    transform = TrainTransform((args.size,), args.size * 2, model.extractor.mean, flip=False)
    keys = builder.train_keys(config['train_chain'])
    n = args.batch * 4
    local = [transform(train.slice[:, keys][comm.rank * n + i]) for i in range(n)]
    it = chainer.iterators.SerialIterator(local, args.batch, shuffle=False)
    optimizer = builder.build_optimizer(config, train_chain, comm)
    updater = chainer.training.updaters.StandardUpdater(
        it, optimizer, converter=builder.train_converter)
    for _ in range(args.warmup):
        updater.update()
    comm.mpi_comm.Barrier()
    start = time.perf_counter()
    for _ in range(args.iterations):
        updater.update()
    comm.mpi_comm.Barrier()
    elapsed = time.perf_counter() - start
    if comm.rank == 0:
        print(json.dumps({'ranks': comm.size, 'seconds': elapsed,
                          'images_per_s': args.iterations * args.batch * comm.size / elapsed}))


def cost(args):
    """Model-cost figures of the full-scale config (one process, CPU)."""
    import warnings
    warnings.filterwarnings('ignore', category=FutureWarning)
    import numpy as np
    import chainer
    from chainermn.links import MultiNodeBatchNormalization
    from pfdet.training import builder
    from pfdet.training import load_config

    class DummyComm(object):
        rank, size, intra_rank, inter_rank, inter_size = 0, 1, 0, 0, 1

    class MACs(chainer.FunctionHook):
        name = 'MACs'

        def __init__(self):
            self.total = {}

        def forward_postprocess(self, function, in_data):
            label = function.label
            x = in_data[0]
            if label in ('Convolution2DFunction', 'DilatedConvolution2DFunction'):
                w = in_data[1]
                # output spatial size from the conv parameters
                kh, kw = w.shape[2:]
                sy, sx, ph, pw = function.sy, function.sx, function.ph, function.pw
                h = (x.shape[2] + 2 * ph - kh) // sy + 1
                ww = (x.shape[3] + 2 * pw - kw) // sx + 1
                macs = x.shape[0] * w.shape[0] * h * ww * w.shape[1] * kh * kw
            elif label == 'LinearFunction':
                w = in_data[1]
                macs = int(np.prod(x.shape[:-1])) * w.shape[0] * w.shape[1] \
                    if x.ndim == 2 else x.shape[0] * w.shape[0] * w.shape[1]
            else:
                return
            self.total[label] = self.total.get(label, 0) + int(macs)

    config = load_config(os.path.join(_REPO, 'experiments/pfdet/base.py'))
    n_class = 500
    model = builder.build_model(config, n_class, None, bn='frozen')
    chainer.optimizers.SGD().setup(model)
    from pfdet.links import disable_frozen_updates
    disable_frozen_updates(model)  # as builder.build_optimizer does
    n_param = sum(p.size for p in model.params() if p.update_rule.enabled)
    n_frozen = sum(p.size for p in model.params() if not p.update_rule.enabled)
    # multi-node BN layers: the trainable BN layers of the extractor
    mn = builder.build_model(config, n_class, DummyComm(), bn='multi_node')
    bns = [l for l in mn.extractor.links() if isinstance(l, MultiNodeBatchNormalization)]
    n_bn_channel = sum(l.gamma.size for l in bns)
    h, w = args.cost_size
    img = np.random.RandomState(0).uniform(0, 255, (3, h, w)).astype(np.float32)
    x = img[None] - model.extractor.mean
    hook = MACs()
    with chainer.using_config('train', False), chainer.no_backprop_mode(), hook:
        model.extractor(x)
    ext_macs = sum(hook.total.values())
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        hs = model.extractor(x)
    hook = MACs()
    with chainer.using_config('train', False), chainer.no_backprop_mode(), hook:
        model.rpn(hs)
    rpn_macs = sum(hook.total.values())
    head = model.bbox_head
    fc_macs = sum(l.W.size for l in head.links() if isinstance(l, chainer.links.Linear))
    n_roi = config['train_chain']['head_n_sample']
    scale = (800 * 1067) / float(h * w)
    fwd = (ext_macs + rpn_macs) * scale + fc_macs * n_roi
    print(json.dumps({
        'config': 'experiments/pfdet/base.py', 'n_class': n_class,
        'trainable_params': int(n_param), 'frozen_params': int(n_frozen),
        'gradient_bytes_fp32': int(4 * n_param),
        'mnbn_layers': len(bns), 'mnbn_channels': int(n_bn_channel),
        'mnbn_bytes_per_iteration_fp32': int(4 * 4 * n_bn_channel),
        'measured_at': [h, w],
        'extractor_gmacs_800x1067': round(ext_macs * scale / 1e9, 1),
        'rpn_gmacs_800x1067': round(rpn_macs * scale / 1e9, 1),
        'head_fc_gmacs_{}_rois'.format(n_roi): round(fc_macs * n_roi / 1e9, 1),
        'forward_gmacs_per_image': round(fwd / 1e9, 1),
        'train_tflop_per_image_(3x_forward,_2_flop_per_mac)': round(6 * fwd / 1e12, 2),
    }, indent=1))


def run(n_ranks, args, data):
    mpiexec = shlex.split(args.mpiexec) + ['-n', str(n_ranks)]
    env = dict(os.environ, OMP_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1',
               MKL_NUM_THREADS='1')
    cmd = mpiexec + [sys.executable, os.path.abspath(__file__), '--worker', '--data', data,
                     '--batch', str(args.batch), '--size', str(args.size),
                     '--iterations', str(args.iterations), '--warmup', str(args.warmup)]
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, cwd=_REPO)
    if out.returncode != 0:
        sys.exit('bench_scaling: {} rank(s) failed:\n{}'.format(n_ranks, out.stderr[-3000:]))
    line = [l for l in out.stdout.splitlines() if l.startswith('{')][-1]
    return json.loads(line)


def _default_mpiexec():
    cmd = [os.path.join(os.path.dirname(sys.executable), 'mpiexec'), '--oversubscribe']
    if os.geteuid() == 0:
        cmd.append('--allow-run-as-root')
    return ' '.join(cmd)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=2, help='images per rank')
    parser.add_argument('--size', type=int, default=160, help='shorter image side')
    parser.add_argument('--iterations', type=int, default=8)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--mpiexec', default=_default_mpiexec())
    parser.add_argument('--cost', action='store_true',
                        help='print the model-cost inputs of docs/scaling.md and exit')
    parser.add_argument('--cost-size', type=int, nargs=2, default=(320, 427))
    parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--data', default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.cost:
        return cost(args)

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, 'data')
        subprocess.run([sys.executable, '-m', 'pfdet.datasets.synthetic', '--out', data,
                        '--n-images', str(max(32, args.batch * 8)), '--n-val', '1',
                        '--seed', '0'], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=_REPO)
        results = {1: [], 2: []}
        for _ in range(args.repeat):
            for n in (1, 2):  # interleaved, so that load changes hit both alike
                results[n].append(run(n, args, data)['images_per_s'])
    med = {n: sorted(v)[len(v) // 2] for n, v in results.items()}
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    print('per-rank batch {}, {} px, {} timed iterations, median of {} runs, '
          '{} CPU cores, 1-min load average at the end {:.2f}'.format(
              args.batch, args.size, args.iterations, args.repeat, os.cpu_count(), load))
    for n in (1, 2):
        print('  {} rank(s): {}  -> median {:.3f} images/s'.format(
            n, ', '.join('{:.3f}'.format(v) for v in results[n]), med[n]))
    eff = med[2] / (2 * med[1])
    print('weak scaling 1 -> 2 ranks: {:.3f} -> {:.3f} images/s, efficiency {:.0f}% '
          '(target >= 90%)'.format(med[1], med[2], 100 * eff))


if __name__ == '__main__':
    main()

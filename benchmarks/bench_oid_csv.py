"""Speed and memory of the Open Images CSV reader and hierarchy expansion.

Writes a seeded 1M-row box CSV in the 2018 13-column format to a temporary
directory, then, in a fresh child process (so the peak RSS is the reader's),
times:

* ``pandas.read_csv`` of the same file (reference, no validation),
* :func:`pfdet.datasets.read_bbox_csv` (parse + validation), median of runs,
* :meth:`ClassHierarchy.expand_boxes` with the DERIVED 500-class hierarchy
  when ``../shared`` is beside the checkout, else a synthetic hierarchy of
  the same size (500 classes, 4 levels, some multi-parent classes).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_oid_csv.py [--rows 1000000]

The last printed line is the headline figure.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
SHARED_HIERARCHY = os.path.join(
    REPO, '..', 'shared', 'data', 'open_images_metadata',
    'bbox_labels_500_hierarchy.DERIVED.json')


def synthetic_hierarchy(n_class=500, seed=0):
    """A 4-level tree of ``n_class`` labels, 5% with a second parent."""
    rng = np.random.RandomState(seed)
    mids = ['/m/syn{:04d}'.format(i) for i in range(n_class)]
    sizes = [10, 60, 180, n_class - 250]
    levels, start = [], 0
    for s in sizes:
        levels.append(list(range(start, start + s)))
        start += s
    children = {i: [] for i in range(n_class)}
    for upper, lower in zip(levels[:-1], levels[1:]):
        for c in lower:
            parents = rng.choice(upper, size=1 + (rng.rand() < 0.05),
                                 replace=False)
            for p in parents:
                children[p].append(c)

    def node(i):
        n = {'LabelName': mids[i]}
        if children[i]:
            n['Subcategory'] = [node(c) for c in children[i]]
        return n
    return {'LabelName': '/m/0bl9f',
            'Subcategory': [node(i) for i in levels[0]]}


def write_csv(path, n_rows, mids, seed=0):
    import pandas as pd
    from pfdet.datasets import write_bbox_csv

    rng = np.random.RandomState(seed)
    n_img = max(1, n_rows // 7)
    image_ids = np.array(['{:016x}'.format(x) for x in
                          rng.randint(0, 2 ** 62, size=n_img,
                                      dtype=np.int64)], dtype=object)
    # Zipf-like class frequencies
    p = 1.0 / np.arange(1, len(mids) + 1)
    label = rng.choice(len(mids), size=n_rows, p=p / p.sum())
    xy = np.sort(rng.uniform(0, 1, size=(n_rows, 2, 2)), axis=2)
    xy[:, :, 1] = np.maximum(xy[:, :, 1], xy[:, :, 0] + 1e-3).clip(0, 1)
    xy[:, :, 0] = np.minimum(xy[:, :, 0], xy[:, :, 1] - 1e-3)
    df = pd.DataFrame({
        'ImageID': np.sort(image_ids[rng.randint(0, n_img, size=n_rows)]),
        'Source': 'xclick',
        'LabelName': np.asarray(mids, dtype=object)[label],
        'Confidence': 1,
        'XMin': xy[:, 0, 0], 'XMax': xy[:, 0, 1],
        'YMin': xy[:, 1, 0], 'YMax': xy[:, 1, 1],
        'IsOccluded': rng.randint(0, 2, n_rows),
        'IsTruncated': rng.randint(0, 2, n_rows),
        'IsGroupOf': (rng.rand(n_rows) < 0.05).astype(int),
        'IsDepiction': 0, 'IsInside': 0})
    write_bbox_csv(path, df, float_format='%.6f')


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(path, hierarchy_path, repeat):
    """Runs in a fresh process: returns timings and peak RSS."""
    import pandas as pd
    from pfdet.datasets import ClassHierarchy
    from pfdet.datasets import read_bbox_csv

    base_rss = rss_mib()
    t0 = time.perf_counter()
    raw = pd.read_csv(path)
    t_pandas = time.perf_counter() - t0
    n = len(raw)
    del raw
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        df = read_bbox_csv(path)
        times.append(time.perf_counter() - t0)
        if len(times) < repeat:
            del df
    read_rss = rss_mib()
    h = ClassHierarchy.from_json(hierarchy_path)
    t0 = time.perf_counter()
    out = h.expand_boxes(df)
    t_expand = time.perf_counter() - t0
    return {'rows': n, 'pandas_s': t_pandas, 'read_s': float(np.median(times)),
            'read_all_s': times, 'expand_s': t_expand,
            'expanded_rows': len(out), 'base_rss': base_rss,
            'read_rss': read_rss, 'final_rss': rss_mib()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--rows', type=int, default=1000000)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--child', nargs=2, metavar=('CSV', 'HIERARCHY'),
                        help=argparse.SUPPRESS)
    parser.add_argument('--generate', nargs=2, metavar=('CSV', 'HIERARCHY'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, REPO)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.repeat)))
        return
    if args.generate:
        from pfdet.datasets import ClassHierarchy
        mids = ClassHierarchy.from_json(args.generate[1]).mids
        t0 = time.perf_counter()
        write_csv(args.generate[0], args.rows, mids, seed=args.seed)
        print(time.perf_counter() - t0)
        return

    # Both steps run in children of this small process: on Linux the peak
    # RSS (ru_maxrss) survives fork + exec, so it must stay low here.
    env = dict(os.environ, OMP_NUM_THREADS='1')

    def run(*extra):
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), '--rows',
             str(args.rows), '--seed', str(args.seed), '--repeat',
             str(args.repeat)] + list(extra),
            capture_output=True, text=True, env=env)
        if proc.returncode:
            sys.exit(proc.stderr)
        return proc.stdout.strip().splitlines()[-1]

    with tempfile.TemporaryDirectory() as tmp:
        if os.path.exists(SHARED_HIERARCHY):
            hierarchy_path = SHARED_HIERARCHY
            which = 'bbox_labels_500_hierarchy.DERIVED.json (../shared)'
        else:
            hierarchy_path = os.path.join(tmp, 'hierarchy.json')
            with open(hierarchy_path, 'w') as f:
                json.dump(synthetic_hierarchy(), f)
            which = 'synthetic 500-class hierarchy'
        path = os.path.join(tmp, 'bbox.csv')
        t_write = float(run('--generate', path, hierarchy_path))
        size = os.path.getsize(path) / 2 ** 20
        r = json.loads(run('--child', path, hierarchy_path))

    n = r['rows']
    print('file: {:,} rows, 2018 format, {:.0f} MiB (written in {:.1f} s '
          'by write_bbox_csv)'.format(n, size, t_write))
    print('hierarchy: {}'.format(which))
    print('pandas.read_csv (no validation): {:.2f} s'.format(r['pandas_s']))
    print('read_bbox_csv runs: {}'.format(
        ', '.join('{:.2f} s'.format(t) for t in r['read_all_s'])))
    print('expand_boxes: {:,} -> {:,} rows in {:.2f} s ({:.0f}k rows/s)'
          .format(n, r['expanded_rows'], r['expand_s'],
                  n / r['expand_s'] / 1e3))
    print('RSS: {:.0f} MiB after imports, peak {:.0f} MiB after reading, '
          '{:.0f} MiB after expansion'.format(
              r['base_rss'], r['read_rss'], r['final_rss']))
    print('read_bbox_csv: {:,} rows in {:.2f} s ({:.0f}k rows/s), peak RSS '
          '{:.0f} MiB'.format(n, r['read_s'], n / r['read_s'] / 1e3,
                              r['read_rss']))


if __name__ == '__main__':
    main()

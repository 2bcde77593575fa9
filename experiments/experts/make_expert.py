"""Select an expert's classes, write its training subset and its config delta.

Usage (the 20 rarest classes of the embedded dataset, as
``experiments/experts/class20.py`` expects)::

    python experiments/experts/make_expert.py \\
        --base experiments/pfdet/toy_base.py --size 20 --by frequency \\
        --out result/experts/class20

    mpiexec -n 2 python examples/train_multi.py \\
        --config experiments/experts/class20.py --out result/class20

``--by val_ap --per-class-ap result/general/eval/per_class_ap.csv`` picks the
classes with the lowest validation AP of the general model instead;
``--group 1`` takes the next ``--size`` classes of the ranking (a second
expert). Outputs in ``--out``: the subset CSVs and class list
(:func:`pfdet.experts.write_expert_subset`), ``expert.json`` and ``config.py``
(a config delta of ``--base`` that trains this expert with
``examples/train_multi.py``; only the data keys differ from the base).
"""

import argparse
import os
import sys

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from pfdet.datasets import oid_io  # NOQA: E402
from pfdet import experts  # NOQA: E402
from pfdet.training import builder  # NOQA: E402
from pfdet.training import ConfigError  # NOQA: E402
from pfdet.training import load_config  # NOQA: E402


def make_expert(base, out, size=20, by='frequency', per_class_ap=None,
                group=0, exclude=(), negative_ratio=1., seed=0, expand=True,
                data_root=None, config_out=None):
    """Select, write the subset and the config delta; returns the paths."""
    config = load_config(base)
    if data_root is not None:
        if config['dataset']['root'] is None:
            raise ConfigError('--data-root: {} does not use the embedded '
                              'layout (dataset.root is None)'.format(base))
        config['dataset']['root'] = data_root
    paths = builder.dataset_paths(config)
    classes = builder.load_classes(config)
    skip = config['dataset']['skip_invalid']
    train = paths['train']
    bbox_df = oid_io.read_bbox_csv(train['bbox_csv'], skip_invalid=skip)
    labels_df = None
    if train['image_labels_csv'] is not None:
        labels_df = oid_io.read_image_labels_csv(train['image_labels_csv'],
                                                 skip_invalid=skip)
    hierarchy = classes.hierarchy if expand else None
    exclude_mids = []
    for path in exclude:
        exclude_mids.extend(oid_io.read_class_list(path))
    mids = experts.select_expert_classes(
        bbox_df, classes.mids, size=size, by=by, per_class_ap=per_class_ap,
        exclude=exclude_mids, group=group, hierarchy=hierarchy)
    name_of = dict(zip(classes.mids, classes.names))
    subset = experts.build_expert_subset(
        bbox_df, mids, labels_df, negative_ratio=negative_ratio, seed=seed,
        hierarchy=hierarchy)
    meta = dict(base=os.path.relpath(base), by=by, size=size, group=group,
                negative_ratio=negative_ratio, seed=seed,
                expand_hierarchy=hierarchy is not None,
                per_class_ap=per_class_ap, exclude=list(exclude))
    written = experts.write_expert_subset(
        out, mids, [name_of[m] for m in mids], bbox_df, labels_df, subset,
        meta=meta)
    expert_train = dict(bbox_csv=written['bbox_csv'],
                        image_dir=train['image_dir'],
                        image_labels_csv=written['image_labels_csv'])
    doc = ('Expert config delta written by experiments/experts/make_expert.py'
           '\n\n{} classes by {} (group {}), {} positive + {} negative '
           'training images.\n'.format(len(mids), by, group,
                                       len(subset.positive),
                                       len(subset.negative)))
    try:
        base_ref = experts.config_module_name(base, _REPO)
    except ValueError:  # a config outside the repository: load it by path
        base_ref = base
    source = experts.expert_config_source(
        base_ref, expert_train, paths['val'],
        written['class_list'], paths['hierarchy'], doc=doc)
    config_out = config_out or os.path.join(out, 'config.py')
    with open(config_out, 'w') as f:
        f.write(source)
    written['config'] = config_out
    written['mids'] = mids
    written['names'] = [name_of[m] for m in mids]
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Select expert classes, write the expert training subset '
        'and a config delta for examples/train_multi.py.')
    parser.add_argument('--base', required=True,
                        help='base config of the general model (.py)')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument('--size', type=int, default=20,
                        help='classes per expert (default 20)')
    parser.add_argument('--by', choices=experts.SELECTION_RULES,
                        default='frequency', help='rank by training '
                        'frequency (rarest first) or validation AP (lowest '
                        'first)')
    parser.add_argument('--per-class-ap', default=None,
                        help="general model's per_class_ap.csv (--by val_ap)")
    parser.add_argument('--group', type=int, default=0,
                        help='take the N-th group of --size classes')
    parser.add_argument('--exclude', nargs='*', default=(), metavar='FILE',
                        help='class lists never selected (earlier experts)')
    parser.add_argument('--negative-ratio', type=float, default=1.,
                        help='negative images per positive image (default 1)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-expand', action='store_true',
                        help='count classes without the hierarchy expansion')
    parser.add_argument('--data-root', default=None,
                        help='override dataset.root of the base config')
    parser.add_argument('--config-out', default=None,
                        help='config delta path (default OUT/config.py)')
    args = parser.parse_args(argv)
    try:
        out = make_expert(
            args.base, args.out, size=args.size, by=args.by,
            per_class_ap=args.per_class_ap, group=args.group,
            exclude=args.exclude, negative_ratio=args.negative_ratio,
            seed=args.seed, expand=not args.no_expand,
            data_root=args.data_root, config_out=args.config_out)
    except (ValueError, OSError) as e:
        parser.exit(2, 'error: {}\n'.format(e))
    print('expert: {} classes ({})'.format(
        len(out['mids']), ', '.join(out['names'])))
    print('subset: {} positive + {} negative images ({} excluded: unboxed '
          'expert objects), {} expert boxes'.format(
              out['n_positive_images'], out['n_negative_images'],
              out['n_excluded_images'], out['n_expert_boxes']))
    print('wrote {} and config delta {}'.format(os.path.dirname(
        out['manifest']), out['config']))
    return 0


if __name__ == '__main__':
    sys.exit(main())

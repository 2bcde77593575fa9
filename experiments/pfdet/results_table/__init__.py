"""The poster's results table (``pfdet.md`` §2.2): single model, experts, class-weight ensemble.

====================================== ========= ========= ========= =========================
file                                   val       public    private   ours
====================================== ========= ========= ========= =========================
``00_single_best.py``                  69.95     55.81     53.43     ablation row 8 alone
``01_class20_experts.py``              71.73     59.34     55.87     + an expert for the 20
                                                                     rarest classes
``02_class_weight_ensemble.py``        --        62.88     58.63     + a second general model,
                                                                     relative-AP class weights
====================================== ========= ========= ========= =========================

The poster's other rows ("+ ??? experts", "+ the others except ...", "+ COCO P...") are
unreadable or need data we do not have; they are not reproduced.

These rows train nothing of their own except the expert: they merge the detections
(``examples/evaluate.py``'s output) of runs of the ablation rows with
:func:`pfdet.ensemble.ensemble_detections` ("concat, then suppress", NMW) and score the
merged table with :func:`pfdet.ensemble.evaluate_detections` (the OID challenge metric,
official-tool semantics). ``experiments/run.py`` runs them after the ablation rows, per seed:
the members of seed ``s`` are the runs of seed ``s``.

The merged table keeps every detection (``max_per_image`` None): each member already holds
at most 100 per image (the ``'evaluate'`` preset), and the challenge metric has no cap. A cap
of 100 on the merge crowds out the expert's detections: on the toy runs of seed 0 it costs
the three-model ensemble 5.5 mAP (56.7 instead of 62.2) and the two-model experts row 0.4.

A row module defines::

    KIND = 'ensemble'
    ROW = '+ class20 experts'                         # poster wording
    PAPER = {'val': 71.73, 'public': 59.34, 'private': 55.87}
    PREVIOUS = '00_single_best'
    MEMBERS = ['ablation/08_senet154_anchors', 'expert']   # rows, or 'expert'
    EXPERT = dict(size=20, by='frequency', ...)        # when a member is 'expert'
    ENSEMBLE = dict(method='nmw', class_weights=False, ...)

    def run(scale, seed, context): return run_row(sys.modules[__name__], scale, seed, context)
    def config_view(scale): return row_view(sys.modules[__name__], scale)

Both scales work alike: the members are the row configs of the scale, the expert's data
are a subset of the scale's training split.
"""

import copy
import importlib
import json
import os
import re

from pfdet.training import deep_update

_ROW_FILE = re.compile(r'^(\d\d)_[a-z0-9_]+\.py$')

#: The general model whose training recipe the expert reuses (only the data differ).
EXPERT_BASE_ROW = 'ablation/08_senet154_anchors'


def row_names():
    """Stems of the row files, in table order."""
    here = os.path.dirname(os.path.abspath(__file__))
    return sorted(os.path.splitext(f)[0] for f in os.listdir(here) if _ROW_FILE.match(f))


def load_row(name):
    """The module of a row, by file stem."""
    if name not in row_names():
        raise ValueError('unknown results-table row {!r}; rows: {}'.format(
            name, ', '.join(row_names())))
    return importlib.import_module('{}.{}'.format(__name__, name))


def _train_row_config(key, scale):
    group, name = key.split('/')
    package = importlib.import_module('experiments.pfdet.' + group)
    from experiments.pfdet.ablation import CONFIG_ATTR
    return copy.deepcopy(getattr(package.load_row(name), CONFIG_ATTR[scale]))


def row_view(module, scale):
    """Everything a row's result depends on: its settings and the members' config views."""
    from experiments.pfdet.ablation import config_view
    data = {'members': {}, 'ensemble': getattr(module, 'ENSEMBLE', {}),
            'expert': getattr(module, 'EXPERT', None)}
    for member in module.MEMBERS:
        key = EXPERT_BASE_ROW if member == 'expert' else member
        data['members'][member] = config_view(_train_row_config(key, scale))
    return json.loads(json.dumps(data, sort_keys=True))


def row_sha(module, scale):
    """Hash of :func:`row_view`."""
    from experiments.pfdet.ablation import config_sha256
    return config_sha256(row_view(module, scale), excluded=())


def expert_config(general, subset_dir, classes_path, iteration=None):
    """The expert's config: the general model's config with the subset as training data.

    Args:
        general (dict): Config of the general model (resolved, any scale).
        subset_dir (str): Where :func:`pfdet.experts.write_expert_subset` wrote the subset.
        classes_path (str): The expert's class list.
        iteration (int): Train for this many iterations instead of the general model's
            epochs (:obj:`None`: the same epochs, i.e. far fewer iterations on the subset).

    """
    from pfdet.training import builder
    paths = builder.dataset_paths(general)
    if iteration is not None:
        general = deep_update(general, {'train': {'iteration': int(iteration),
                                                  'epoch': None}})
    return deep_update(general, {'dataset': {
        'root': None,
        'train': {'bbox_csv': os.path.join(subset_dir, 'train-annotations-bbox.csv'),
                  'image_dir': paths['train']['image_dir'],
                  'image_labels_csv': os.path.join(
                      subset_dir, 'train-annotations-human-imagelabels.csv')},
        'val': dict(paths['val']),
        'class_list': classes_path,
        'hierarchy': paths['hierarchy'],
        'n_train_images': None,
    }})


def train_expert(module, scale, seed, context):
    """Select the expert's classes, write its subset, train and evaluate it.

    Returns:
        dict: The output of ``train_and_evaluate`` plus ``mids`` (the expert's classes) and
        ``subset`` (counts).

    """
    from pfdet import experts
    from pfdet.datasets import oid_io
    from pfdet.training import builder
    spec = dict(module.EXPERT)
    general = _train_row_config(EXPERT_BASE_ROW, scale)
    general['seed'] = seed
    if scale == 'toy':
        context.ensure_dataset(general)
    # shared by every row with the same expert: trained once per seed
    rdir = context.run_dir(scale, 'results_table/_expert_{size}_{by}_{negative_ratio:g}'.format(
        **spec), seed)
    spec.setdefault('schedule', 'epochs')
    paths = builder.dataset_paths(general)
    classes = builder.load_classes(general)
    skip = general['dataset']['skip_invalid']
    bbox_df = oid_io.read_bbox_csv(paths['train']['bbox_csv'], skip_invalid=skip)
    labels_df = None
    if paths['train']['image_labels_csv'] is not None:
        labels_df = oid_io.read_image_labels_csv(paths['train']['image_labels_csv'],
                                                 skip_invalid=skip)
    hierarchy = classes.hierarchy
    mids = experts.select_expert_classes(bbox_df, classes.mids, size=spec['size'],
                                         by=spec['by'], hierarchy=hierarchy)
    subset = experts.build_expert_subset(bbox_df, mids, labels_df,
                                         negative_ratio=spec['negative_ratio'], seed=seed,
                                         hierarchy=hierarchy)
    name_of = dict(zip(classes.mids, classes.names))
    subset_dir = os.path.join(rdir, 'subset')
    iteration = None
    if spec.get('schedule') == 'iterations':   # as many updates as the general model
        n_train = len(set(bbox_df['ImageID']) | (set(labels_df['ImageID'])
                                                   if labels_df is not None else set()))
        n_train = min(n_train, general['dataset']['n_train_images'] or n_train)
        iteration = builder.total_iterations(general, n_train)
    config = expert_config(general, subset_dir,
                           os.path.join(subset_dir, 'class-descriptions.csv'), iteration)
    context.prepare_run_dir(config, rdir)    # clears an outdated run before writing into it
    written = experts.write_expert_subset(
        subset_dir, mids, [name_of[m] for m in mids], bbox_df, labels_df, subset,
        meta={'general_row': EXPERT_BASE_ROW, 'scale': scale, 'seed': seed, **spec})
    if os.path.abspath(written['class_list']) != os.path.abspath(
            config['dataset']['class_list']):
        raise ValueError('pfdet.experts wrote the class list to {}, not {}'.format(
            written['class_list'], config['dataset']['class_list']))
    out = context.train_and_evaluate(
        config, rdir, 'the expert of {} ({} scale, seed {})'.format(module.ROW, scale, seed))
    out['mids'] = mids
    out['subset'] = {'n_positive_images': len(subset.positive),
                     'n_negative_images': len(subset.negative)}
    return out


def _detections_path(context, eval_dir):
    path = context.detections_file(eval_dir)
    if path is None:
        raise FileNotFoundError('{}: no detections.csv or submission.csv written by '
                                'examples/evaluate.py'.format(eval_dir))
    return path


def run_row(module, scale, seed, context):
    """Merge the members' detections of one seed, evaluate, return the result dict."""
    from pfdet import ensemble
    from pfdet.training import builder
    settings = dict(module.ENSEMBLE)
    detections, aps, expert_classes, members, wall = [], [], [], [], 0.0
    general = None
    for member in module.MEMBERS:
        if member == 'expert':
            out = train_expert(module, scale, seed, context)
            detections.append(_detections_path(context, out['eval_dir']))
            aps.append({m: e['ap'] for m, e in out['ap_per_class'].items()})
            expert_classes.append(list(out['mids']))
            wall += out['wall_time_s']['total']
            members.append({'member': 'expert', 'classes': list(out['mids']),
                            'map': float(out['evaluation']['map']), **out['subset']})
            continue
        try:   # re-runs a member whose run directory is gone (a fresh clone)
            result, eval_dir = context.member(scale, member, seed)
        except ValueError as e:
            raise ValueError('{}: {}'.format(module.__name__, e))
        detections.append(_detections_path(context, eval_dir))
        aps.append({m: e['ap'] for m, e in result['ap_per_class'].items()})
        expert_classes.append(None)
        members.append({'member': member, 'map': result['map'],
                        'config_sha256': result['config_sha256']})
        if general is None:
            general = _train_row_config(member, scale)
    general = general or _train_row_config(EXPERT_BASE_ROW, scale)
    paths = builder.dataset_paths(general)
    classes = builder.load_classes(general)

    def merge(weighted):
        if len(detections) == 1 and not weighted:   # a single model: its detections as is
            return context.read_detections(detections[0]), {}
        return ensemble.ensemble_detections(
            detections, per_class_ap=aps if weighted else None,
            expert_classes=expert_classes if any(expert_classes) else None,
            method=settings.get('method', 'nmw'), expert_mode=settings.get(
                'expert_mode', 'augment'), normalize=settings.get('normalize', 'max'),
            class_mids=classes.mids, max_per_image=settings.get('max_per_image'))

    def score(df):
        return ensemble.evaluate_detections(
            df, paths['val']['bbox_csv'], paths['val']['image_labels_csv'],
            paths['class_list'], hierarchy=paths['hierarchy'])

    weighted = settings.get('class_weights', False)
    merged, stats = merge(weighted)
    evaluation = score(merged)
    extra = {}
    if weighted:   # the same members without class weights, for the discussion
        extra['map_unweighted'] = float(score(merge(False)[0])['map'])
    per_class = {}
    for mid, name, ap, n in zip(evaluation['per_class']['LabelName'],
                                evaluation['per_class']['Name'],
                                evaluation['per_class']['AP'],
                                evaluation['per_class']['NumGT']):
        ap = None if ap != ap else round(float(ap), 6)
        per_class[str(mid)] = {'name': str(name), 'ap': ap, 'n_gt': int(n)}
    return dict({
        'schema': context.schema,
        'row': 'results_table/' + module.__name__.split('.')[-1],
        'label': module.ROW,
        'previous': module.PREVIOUS if module.PREVIOUS is None or '/' in module.PREVIOUS
        else 'results_table/' + module.PREVIOUS,
        'paper': dict(module.PAPER),
        'scale': scale,
        'seed': seed,
        'config_file': os.path.relpath(module.__file__, context.repo),
        'config_sha256': row_sha(module, scale),
        'config': row_view(module, scale),
        'metric': 'OID challenge 2018 detection metric (pfdet.ensemble.evaluate_detections, '
                  'official-tool semantics), validation split',
        'map': float(evaluation['map']),
        'ap_per_class': per_class,
        'members': members,
        'ensemble': settings,
        'ensemble_stats': json.loads(json.dumps(stats, default=str)),
        'wall_time_s': {'train': 0.0, 'eval': 0.0, 'total': round(wall, 1)},
        'machine': context.machine_info(context.args.n_ranks),
        'commit': context.commit_info(),
        'finished_at': context.now(),
    }, **extra)

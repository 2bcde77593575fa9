"""Expert models: class subsets, their training subsets and config deltas.

PFDet trains "a set of expert models for a small subset of classes
exclusively" (``pfdet.md`` §3.11) and merges their detections into the
general model's ("Concat -> Suppression", :mod:`pfdet.ensemble`). The
subsets are design choices; this module provides the two rules named by
MMfruit about PFDet, "the least number or the worst-performing category in
the validation set":

* :func:`select_expert_classes` ranks classes by training frequency (number
  of training images containing the class) or by the general model's
  validation AP and cuts the ranking into groups of ``size`` classes
  ("class20": the 20 rarest);
* :func:`build_expert_subset` picks the expert's training images: every
  image containing an expert class, plus a seeded share of other images as
  negatives;
* :func:`write_expert_subset` writes them as Open Images CSVs, so that the
  same loader and config system train the expert (:func:`
  expert_config_source` writes the config delta).

The subset CSVs hold **all** rows of the chosen images; the expert's class
list (``class-descriptions.csv``, expert classes only) restricts them when
they are loaded, so negative images (which have no box of an expert class)
stay in the dataset, with every box of another class dropped by
:class:`~pfdet.datasets.OpenImagesBboxDataset` and counted in its
``n_dropped_boxes`` (with a warning). Writing only the expert classes' rows
would lose the negatives, since the loader's image list is the set of images
present in the CSVs.
"""

import collections
import json
import os

import numpy as np
import pandas as pd

from pfdet.datasets import oid_io

SELECTION_RULES = ('frequency', 'val_ap')

ExpertSubset = collections.namedtuple(
    'ExpertSubset', ('positive', 'negative', 'excluded'))
ExpertSubset.__doc__ = """Image ids of an expert's training subset.

Attributes:
    positive (list of str): Images with a box of an expert class.
    negative (list of str): Sampled images without any expert class.
    excluded (list of str): Images with a verified positive image-level label
        of an expert class but no box of it (unboxed objects): neither
        positives nor safe negatives, so they are left out.
"""


def _expand(hierarchy, df, labels):
    if hierarchy is None or df is None or not len(df):
        return df
    from pfdet.datasets import ClassHierarchy
    if not isinstance(hierarchy, ClassHierarchy):
        hierarchy = ClassHierarchy.from_json(hierarchy)
    if labels:
        return hierarchy.expand_image_labels(df)
    return hierarchy.expand_boxes(df)


def _check_frame(df, name, columns):
    if not isinstance(df, pd.DataFrame):
        raise TypeError('{} must be a pandas.DataFrame (from pfdet.datasets.'
                        'read_*_csv), got {}'.format(name, type(df).__name__))
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError('{}: missing column(s) {}'.format(
            name, ', '.join(missing)))


def class_image_counts(bbox_df, class_mids, hierarchy=None):
    """Number of training images that contain each class (boxes).

    Args:
        bbox_df (pandas.DataFrame): Boxes (``ImageID``, ``LabelName``), e.g.
            from :func:`pfdet.datasets.read_bbox_csv`.
        class_mids (list of str): The classes.
        hierarchy: Optional hierarchy (JSON path, dict or
            :class:`~pfdet.datasets.ClassHierarchy`); boxes then also count
            for the ancestors of their class, as in the official metric.

    Returns:
        numpy.ndarray: (C,) int64 counts. Boxes of other classes are ignored.

    """
    _check_frame(bbox_df, 'bbox_df', ('ImageID', 'LabelName'))
    df = _expand(hierarchy, bbox_df[['ImageID', 'LabelName']], False)
    pairs = df.drop_duplicates(['ImageID', 'LabelName'])
    counts = pairs['LabelName'].value_counts()
    mids = pd.Index(np.asarray(class_mids, dtype=object))
    return counts.reindex(mids).fillna(0).to_numpy(np.int64)


def select_expert_classes(bbox_df, class_mids, size=20, by='frequency',
                          per_class_ap=None, exclude=(), group=0,
                          hierarchy=None):
    """Choose the classes of an expert model.

    Classes are ranked, hardest first:

    * ``by='frequency'``: by increasing number of training images containing
      the class (:func:`class_image_counts`);
    * ``by='val_ap'``: by increasing validation AP of the general model
      (``per_class_ap``); classes with a NaN AP (no validation ground truth)
      cannot be ranked and are left out.

    Ties go to the lower training count, then to the class-list order.
    Classes without any training box are left out (an expert could not learn
    them), as are the classes of ``exclude`` (e.g. those of earlier experts).
    The ranking is cut into consecutive groups of ``size`` classes and group
    ``group`` is returned (group 0: the ``size`` hardest classes; the last
    group may be smaller).

    Args:
        bbox_df (pandas.DataFrame): Training boxes (``ImageID``,
            ``LabelName``).
        class_mids (list of str): All classes of the general model.
        size (int): Classes per expert.
        by (str): ``'frequency'`` or ``'val_ap'``.
        per_class_ap: For ``'val_ap'``: a ``per_class_ap.csv`` path, a
            DataFrame with ``LabelName, AP`` or a dict MID -> AP; it must
            cover every candidate class (NaN allowed).
        exclude (iterable of str): Classes never selected.
        group (int): Which group of the ranking.
        hierarchy: Optional hierarchy for counting (see
            :func:`class_image_counts`).

    Returns:
        list of str: The selected MIDs, in ``class_mids`` order.

    Raises:
        ValueError: Bad arguments, an unknown class in ``exclude``, missing
            APs, or no class left for the group.

    """
    if by not in SELECTION_RULES:
        raise ValueError('by must be one of {}, got {!r}'.format(
            SELECTION_RULES, by))
    if isinstance(size, bool) or int(size) != size or size < 1:
        raise ValueError('size must be a positive integer, got {!r}'.format(
            size))
    if isinstance(group, bool) or int(group) != group or group < 0:
        raise ValueError('group must be a non-negative integer, got '
                         '{!r}'.format(group))
    mids = pd.Index(np.asarray(list(class_mids), dtype=object))
    if not len(mids):
        raise ValueError('class_mids is empty')
    if not mids.is_unique:
        raise ValueError('class_mids has duplicates')
    exclude = pd.Index(np.asarray(list(exclude), dtype=object))
    unknown = mids.get_indexer(exclude) < 0
    if unknown.any():
        raise ValueError('exclude: class {!r} is not in class_mids'.format(
            exclude[unknown][0]))
    counts = class_image_counts(bbox_df, mids, hierarchy)
    candidate = (counts > 0) & ~mids.isin(exclude)
    keys = [np.arange(len(mids)), counts]
    if by == 'val_ap':
        if per_class_ap is None:
            raise ValueError("by='val_ap' needs per_class_ap")
        from pfdet.ensemble import _ap_series
        ap = _ap_series(per_class_ap, 0)
        missing = candidate & ~mids.isin(ap.index)
        if missing.any():
            raise ValueError(
                'per_class_ap has no row for {} candidate class(es), e.g. '
                '{!r}'.format(int(missing.sum()), mids[missing][0]))
        ap = ap.reindex(mids).to_numpy(np.float64)
        candidate &= ~np.isnan(ap)
        keys.append(np.nan_to_num(ap, nan=np.inf))
    order = np.lexsort(keys)  # last key first: (AP,) count, list order
    ranked = order[candidate[order]]
    chosen = ranked[group * size:(group + 1) * size]
    if not len(chosen):
        raise ValueError(
            'no class left for group {} of size {}: {} class(es) can be '
            'ranked by {} ({} without training boxes, {} excluded)'.format(
                group, size, len(ranked), by, int((counts == 0).sum()),
                int(mids.isin(exclude).sum())))
    return list(mids[np.sort(chosen)])


def _first_appearance(*frames):
    ids = [f['ImageID'].to_numpy(dtype=object) for f in frames
           if f is not None]
    return pd.Index(pd.unique(np.concatenate(ids))) if ids else pd.Index([])


def build_expert_subset(bbox_df, expert_mids, image_labels_df=None,
                        negative_ratio=1., seed=0, hierarchy=None):
    """The training images of an expert.

    Positives are the images with a box of an expert class (a box of a
    descendant class counts when ``hierarchy`` is given). Negatives are drawn
    without replacement, with ``numpy.random.RandomState(seed)``, from the
    other images of ``bbox_df`` and ``image_labels_df``:
    ``round(negative_ratio * n_positive)`` of them, or all if there are fewer.
    Images that have a verified positive image-level label of an expert
    class but no box of it are in neither set (:attr:`ExpertSubset.
    excluded`): the object is there but unboxed, so it would be trained as
    background.

    Args:
        bbox_df (pandas.DataFrame): Training boxes.
        expert_mids (list of str): The expert's classes.
        image_labels_df (pandas.DataFrame): Optional image-level labels
            (``ImageID, LabelName, Confidence``).
        negative_ratio (float): Negatives per positive image (>= 0).
        seed (int): Seed of the negative sampling.
        hierarchy: Optional hierarchy (JSON path, dict or
            :class:`~pfdet.datasets.ClassHierarchy`).

    Returns:
        ExpertSubset: Lists of image ids, each in order of first appearance
        in the CSVs.

    """
    _check_frame(bbox_df, 'bbox_df', ('ImageID', 'LabelName'))
    if image_labels_df is not None:
        _check_frame(image_labels_df, 'image_labels_df',
                     ('ImageID', 'LabelName', 'Confidence'))
    expert = pd.Index(np.asarray(list(expert_mids), dtype=object))
    if not len(expert):
        raise ValueError('expert_mids is empty')
    ratio = float(negative_ratio)
    if not (np.isfinite(ratio) and ratio >= 0):
        raise ValueError('negative_ratio must be >= 0, got {!r}'.format(
            negative_ratio))
    images = _first_appearance(bbox_df, image_labels_df)
    boxes = _expand(hierarchy, bbox_df[['ImageID', 'LabelName']], False)
    pos = images.isin(boxes['ImageID'][boxes['LabelName'].isin(expert)])
    unboxed = np.zeros(len(images), bool)
    if image_labels_df is not None and len(image_labels_df):
        labels = _expand(hierarchy, image_labels_df[
            ['ImageID', 'LabelName', 'Confidence']], True)
        present = labels['LabelName'].isin(expert) & (
            pd.to_numeric(labels['Confidence']) == 1)
        unboxed = images.isin(labels['ImageID'][present]) & ~pos
    pool = np.flatnonzero(~pos & ~unboxed)
    n_neg = min(int(round(ratio * pos.sum())), len(pool))
    rng = np.random.RandomState(seed)
    neg = np.sort(rng.choice(pool, n_neg, replace=False)) if n_neg else \
        np.zeros(0, np.int64)
    return ExpertSubset(list(images[pos]), list(images[neg]),
                        list(images[unboxed]))


def write_expert_subset(out_dir, expert_mids, class_names, bbox_df,
                        image_labels_df, subset, split='train', meta=None):
    """Write an expert's training subset as Open Images files.

    Files (``split`` = ``'train'``):

    * ``class-descriptions.csv``: the expert classes (``MID,Name``), whose
      order defines the expert's label ids;
    * ``train-annotations-bbox.csv`` (2018 format) and
      ``train-annotations-human-imagelabels.csv``: every row of the subset's
      images (all classes: the class list restricts them when loading, see
      the module docstring);
    * ``train-images.csv``: ``ImageID,Role`` (positive / negative);
    * ``expert.json``: classes, counts and ``meta``.

    Args:
        out_dir (str): Output directory (created).
        expert_mids (list of str): The expert's classes.
        class_names (list of str): Their display names (same order).
        bbox_df (pandas.DataFrame): The general training boxes.
        image_labels_df (pandas.DataFrame): The general training image
            labels, or :obj:`None`.
        subset (ExpertSubset): From :func:`build_expert_subset`.
        split (str): Split name used in the file names.
        meta (dict): Extra fields for ``expert.json`` (e.g. the rule).

    Returns:
        dict: Paths (``class_list``, ``bbox_csv``, ``image_labels_csv``
        (:obj:`None` without labels), ``images_csv``, ``manifest``) and the
        counts written to the manifest.

    """
    expert_mids = list(expert_mids)
    class_names = list(class_names)
    if len(expert_mids) != len(class_names):
        raise ValueError('expert_mids and class_names differ in length: {} '
                         'and {}'.format(len(expert_mids), len(class_names)))
    if not expert_mids:
        raise ValueError('expert_mids is empty')
    os.makedirs(out_dir, exist_ok=True)
    paths = {
        'class_list': os.path.join(out_dir, 'class-descriptions.csv'),
        'bbox_csv': os.path.join(
            out_dir, '{}-annotations-bbox.csv'.format(split)),
        'image_labels_csv': None,
        'images_csv': os.path.join(out_dir, '{}-images.csv'.format(split)),
        'manifest': os.path.join(out_dir, 'expert.json'),
    }
    ids = pd.Index(np.asarray(subset.positive + subset.negative,
                              dtype=object))
    if not ids.is_unique:
        raise ValueError('subset: an image is both positive and negative')
    oid_io.write_class_descriptions(paths['class_list'], expert_mids,
                                    class_names)
    boxes = bbox_df[bbox_df['ImageID'].isin(ids)]
    oid_io.write_bbox_csv(paths['bbox_csv'], boxes)
    n_label = 0
    if image_labels_df is not None:
        paths['image_labels_csv'] = os.path.join(
            out_dir, '{}-annotations-human-imagelabels.csv'.format(split))
        labels = image_labels_df[image_labels_df['ImageID'].isin(ids)]
        oid_io.write_image_labels_csv(paths['image_labels_csv'], labels)
        n_label = len(labels)
    roles = pd.DataFrame({
        'ImageID': np.asarray(ids, dtype=object),
        'Role': ['positive'] * len(subset.positive)
        + ['negative'] * len(subset.negative)})
    roles.to_csv(paths['images_csv'], index=False, lineterminator='\n')
    in_expert = boxes['LabelName'].isin(expert_mids)
    per_class = boxes['LabelName'][in_expert].value_counts()
    counts = collections.OrderedDict([
        ('n_class', len(expert_mids)),
        ('n_positive_images', len(subset.positive)),
        ('n_negative_images', len(subset.negative)),
        ('n_excluded_images', len(subset.excluded)),
        ('n_expert_boxes', int(in_expert.sum())),
        ('n_other_boxes', int((~in_expert).sum())),
        ('n_image_labels', n_label),
    ])
    manifest = collections.OrderedDict(meta or {})
    manifest.update(counts)
    manifest['classes'] = [
        {'mid': m, 'name': n, 'n_boxes': int(per_class.get(m, 0))}
        for m, n in zip(expert_mids, class_names)]
    with open(paths['manifest'], 'w', encoding='utf-8', newline='\n') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')
    paths.update(counts)
    return paths


def config_module_name(config_path, repo_root):
    """Dotted module name of a config file under ``repo_root``.

    ``experiments/pfdet/toy_base.py`` -> ``experiments.pfdet.toy_base``.
    """
    rel = os.path.relpath(os.path.abspath(config_path),
                          os.path.abspath(repo_root))
    if rel.startswith('..') or not rel.endswith('.py'):
        raise ValueError('{} is not a .py file under {}: a config delta can '
                         'only import a base config of the repository'
                         .format(config_path, repo_root))
    return rel[:-3].replace(os.sep, '.')


def expert_config_source(base, train, val, class_list, hierarchy, doc=''):
    """Python source of an expert's config delta for ``train_multi.py``.

    Only the data keys change: the train split becomes the expert subset,
    the validation split stays the general one (restricted to the expert's
    classes by the class list), everything else is the base config's.

    Args:
        base (str): The base config: a dotted module of the repository
            (``'experiments.pfdet.toy_base'``, imported as the shipped
            deltas do), or the path of a config file elsewhere (loaded with
            :func:`pfdet.training.load_config`).
        train (dict): ``bbox_csv``, ``image_dir``, ``image_labels_csv``.
        val (dict): The same for validation.
        class_list (str): The expert's class list.
        hierarchy (str): Hierarchy JSON or :obj:`None`.
        doc (str): Module docstring.

    Returns:
        str: The file's text.

    """
    def split(d):
        return 'dict(bbox_csv={!r}, image_dir={!r}, image_labels_csv={!r})'\
            .format(d['bbox_csv'], d['image_dir'], d.get('image_labels_csv'))
    doc = doc.replace('\\', '\\\\').replace('"', '\\"')
    if not doc.endswith('\n'):
        doc += '\n'
    if base.endswith('.py'):
        head = ('from pfdet.training import deep_update\n'
                'from pfdet.training import load_config\n\n'
                '_base = load_config({!r}, validate=False)\n'.format(
                    os.path.abspath(base)))
    else:
        head = ('from {} import config as _base\n'
                'from pfdet.training import deep_update\n'.format(base))
    return (
        '"""{doc}"""\n\n'
        '{head}\n'
        'config = deep_update(_base, dict(\n'
        '    dataset=dict(\n'
        '        root=None,\n'
        '        train={train},\n'
        '        val={val},\n'
        '        class_list={cl!r},\n'
        '        hierarchy={h!r},\n'
        '    ),\n'
        '))\n').format(doc=doc, head=head, train=split(train),
                       val=split(val), cl=class_list, h=hierarchy)

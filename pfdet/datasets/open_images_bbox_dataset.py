import os
import warnings

import chainer
import numpy as np
import pandas as pd
from PIL import Image

from chainercv.chainer_experimental.datasets.sliceable import GetterDataset
from chainercv.utils import read_image

from pfdet.datasets.hierarchy import ClassHierarchy
from pfdet.datasets.oid_io import OIDFormatError
from pfdet.datasets.oid_io import read_bbox_csv
from pfdet.datasets.oid_io import read_class_descriptions
from pfdet.datasets.oid_io import read_image_labels_csv

_IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.JPG', '.JPEG', '.PNG')
# EXIF orientations that swap width and height (cv2.imread applies them)
_EXIF_TRANSPOSED = (5, 6, 7, 8)


def _group(codes, n):
    """Sort rows by group code; return the order and per-group bounds."""
    order = np.argsort(codes, kind='stable')
    sorted_codes = codes[order]
    start = np.searchsorted(sorted_codes, np.arange(n), side='left')
    end = np.searchsorted(sorted_codes, np.arange(n), side='right')
    return order, start, end


class OpenImagesBboxDataset(GetterDataset):
    """Open Images box annotations as a sliceable ChainerCV dataset.

    Boxes are read from an official box CSV (2018 or 2019 format) and
    converted to ChainerCV's convention: pixels, ``(y_min, x_min, y_max,
    x_max)``, using each image's size, read lazily from the image header and
    cached. Verified image-level labels (positive and negative) come from an
    optional image-labels CSV.

    Annotations are grouped per image once, at construction. Images without
    any box (e.g. only verified-negative labels) are valid examples. A
    missing or unreadable image raises :class:`~pfdet.datasets.OIDFormatError`
    naming the file when the example is accessed.

    Labels are indices into :attr:`class_mids`. Boxes and image labels of
    classes outside :attr:`class_mids` are dropped and counted in
    :attr:`n_dropped_boxes` / :attr:`n_dropped_img_labels` (with a warning).
    Exact duplicate image labels (which the hierarchy expansion produces) are
    merged. ``IsGroupOf`` is true for any non-zero value of the file
    (including -1, "unknown"), as in the official evaluation tool.

    .. csv-table::
        :header: name, shape, dtype, format

        :obj:`img`, ":math:`(3, H, W)`", :obj:`float32`, \
        "RGB, :math:`[0, 255]`"
        :obj:`bbox`, ":math:`(R, 4)`", :obj:`float32`, \
        ":math:`(y_{min}, x_{min}, y_{max}, x_{max})`"
        :obj:`label`, ":math:`(R,)`", :obj:`int32`, \
        ":math:`[0, \\#class - 1]`"
        :obj:`is_group_of`, ":math:`(R,)`", :obj:`bool`, --
        :obj:`img_label`, ":math:`(L,)`", :obj:`int32`, \
        ":math:`[0, \\#class - 1]`"
        :obj:`img_label_confidence`, ":math:`(L,)`", :obj:`int8`, \
        "1: verified present, 0: verified absent"

    Args:
        bbox_csv (str or pandas.DataFrame): Box CSV, or a frame as returned
            by :func:`~pfdet.datasets.read_bbox_csv`. :obj:`None` for no
            boxes.
        image_dir (str): Directory of the images, named
            ``<ImageID><ext>``.
        image_labels_csv (str or pandas.DataFrame): Image-level labels CSV
            (or frame), or :obj:`None`.
        class_mids (list of str): The classes, in label order.
            :obj:`None` uses the sorted MIDs of the boxes and image labels
            (after expansion).
        hierarchy (ClassHierarchy, str or dict): Class hierarchy, needed
            when ``expand_hierarchy`` is true.
        expand_hierarchy (bool): Expand boxes and image labels as the
            official tool does (boxes and positives to ancestors, negatives
            to descendants).
        image_ids (list of str): The images, in example order.
            :obj:`None` uses the union of the images of both CSVs in order
            of first appearance. Annotations of other images are ignored.
        skip_invalid (bool): Skip invalid CSV rows (counted in
            :attr:`n_skipped`) instead of raising.
        image_ext (str): Image file extension (e.g. ``'.jpg'``).
            :obj:`None` tries ``.jpg``, ``.jpeg``, ``.png`` (and upper
            case).

    Attributes:
        class_mids (list of str): MID of each label.
        image_ids (list of str): ImageID of each example.
        bbox_df (pandas.DataFrame): The boxes used (expanded and filtered).
        image_labels_df (pandas.DataFrame): The image labels used.
        n_dropped_boxes (int): Boxes dropped for a class outside
            :attr:`class_mids`.
        n_dropped_img_labels (int): Image labels dropped likewise.
        n_skipped (int): Invalid CSV rows skipped (``skip_invalid``).

    """

    def __init__(self, bbox_csv, image_dir, image_labels_csv=None,
                 class_mids=None, hierarchy=None, expand_hierarchy=False,
                 image_ids=None, skip_invalid=False, image_ext=None):
        super(OpenImagesBboxDataset, self).__init__()
        self.image_dir = image_dir
        self.image_ext = image_ext
        self.n_skipped = 0
        self.class_names = None

        bbox_df = self._load(bbox_csv, read_bbox_csv, skip_invalid)
        if bbox_df is None:
            bbox_df = pd.DataFrame({
                'ImageID': pd.Series([], dtype=object),
                'LabelName': pd.Series([], dtype=object),
                'XMin': [], 'XMax': [], 'YMin': [], 'YMax': [],
                'IsGroupOf': pd.Series([], dtype=np.int8)})
        label_df = self._load(image_labels_csv, read_image_labels_csv,
                              skip_invalid)
        if label_df is None:
            label_df = pd.DataFrame({
                'ImageID': pd.Series([], dtype=object),
                'LabelName': pd.Series([], dtype=object),
                'Confidence': pd.Series([], dtype=np.int8)})

        if hierarchy is not None and not isinstance(hierarchy,
                                                    ClassHierarchy):
            hierarchy = ClassHierarchy.from_json(hierarchy)
        self.hierarchy = hierarchy
        if expand_hierarchy:
            if hierarchy is None:
                raise ValueError('expand_hierarchy=True needs a hierarchy')
            bbox_df = hierarchy.expand_boxes(bbox_df)
            label_df = hierarchy.expand_image_labels(label_df)

        if class_mids is None:
            class_mids = sorted(set(pd.unique(bbox_df['LabelName'])) | set(
                pd.unique(label_df['LabelName'])))
        self.class_mids = list(class_mids)
        classes = pd.Index(self.class_mids)
        if not classes.is_unique:
            raise ValueError('class_mids has duplicates')

        if image_ids is None:
            image_ids = pd.unique(np.concatenate([
                bbox_df['ImageID'].to_numpy(dtype=object),
                label_df['ImageID'].to_numpy(dtype=object)]))
        self.image_ids = list(image_ids)
        images = pd.Index(self.image_ids)
        if not images.is_unique:
            raise ValueError('image_ids has duplicates')
        n = len(images)

        # boxes
        label = classes.get_indexer(bbox_df['LabelName'])
        img = images.get_indexer(bbox_df['ImageID'])
        self.n_dropped_boxes = int(((label < 0) & (img >= 0)).sum())
        keep = (label >= 0) & (img >= 0)
        bbox_df = bbox_df[keep].reset_index(drop=True)
        order, self._bbox_start, self._bbox_end = _group(img[keep], n)
        self.bbox_df = bbox_df
        self._bbox = np.stack(
            [bbox_df[c].to_numpy(dtype=np.float64)[order]
             for c in ('YMin', 'XMin', 'YMax', 'XMax')], axis=1).reshape(-1, 4)
        self._label = label[keep][order].astype(np.int32)
        self._is_group_of = bbox_df['IsGroupOf'].to_numpy()[order] != 0

        # image-level labels
        if len(label_df):
            label_df = label_df.drop_duplicates(
                ['ImageID', 'LabelName', 'Confidence']).reset_index(drop=True)
        label = classes.get_indexer(label_df['LabelName'])
        img = images.get_indexer(label_df['ImageID'])
        self.n_dropped_img_labels = int(((label < 0) & (img >= 0)).sum())
        keep = (label >= 0) & (img >= 0)
        label_df = label_df[keep].reset_index(drop=True)
        order, self._lab_start, self._lab_end = _group(img[keep], n)
        self.image_labels_df = label_df
        self._img_label = label[keep][order].astype(np.int32)
        self._img_label_conf = label_df['Confidence'].to_numpy(
            dtype=np.int8)[order]

        if self.n_dropped_boxes or self.n_dropped_img_labels:
            warnings.warn(
                'OpenImagesBboxDataset: dropped {} box(es) and {} image '
                'label(s) of classes outside class_mids ({} classes)'.format(
                    self.n_dropped_boxes, self.n_dropped_img_labels,
                    len(self.class_mids)))

        self._sizes = np.full((n, 2), -1, dtype=np.int64)

        self.add_getter('img', self._get_image)
        self.add_getter(('bbox', 'label', 'is_group_of'),
                        self._get_annotations)
        self.add_getter(('img_label', 'img_label_confidence'),
                        self._get_img_labels)

    def _load(self, src, reader, skip_invalid):
        if src is None:
            return None
        if isinstance(src, pd.DataFrame):
            return src
        df = reader(src, skip_invalid=skip_invalid)
        self.n_skipped += df.attrs.get('skipped', 0)
        return df

    def __len__(self):
        return len(self.image_ids)

    def image_path(self, i):
        """Path of the image of example ``i`` (raises if missing).

        Args:
            i (int): Example index.

        Returns:
            str

        """
        image_id = self.image_ids[i]
        base = os.path.join(self.image_dir, str(image_id))
        exts = _IMAGE_EXTS if self.image_ext is None else (self.image_ext,)
        for ext in exts:
            if os.path.isfile(base + ext):
                return base + ext
        raise OIDFormatError(
            base + exts[0], None,
            'image of example {} (ImageID {!r}) not found (tried {})'.format(
                i, image_id, ', '.join(exts)))

    def get_size(self, i):
        """Size ``(H, W)`` of image ``i`` from its header (cached).

        Args:
            i (int): Example index.

        Returns:
            tuple of int: ``(H, W)`` as :func:`chainercv.utils.read_image`
            returns it (EXIF rotation applied with the cv2 backend).

        """
        if self._sizes[i, 0] < 0:
            path = self.image_path(i)
            try:
                with Image.open(path) as im:
                    w, h = im.size
                    if self._exif_applied():
                        orientation = im.getexif().get(0x0112)
                        if orientation in _EXIF_TRANSPOSED:
                            w, h = h, w
            except Exception as e:
                raise OIDFormatError(
                    path, None, 'cannot read image of example {} (ImageID '
                    '{!r}): {}'.format(i, self.image_ids[i], e))
            self._sizes[i] = h, w
        return int(self._sizes[i, 0]), int(self._sizes[i, 1])

    @staticmethod
    def _exif_applied():
        backend = chainer.config.cv_read_image_backend
        if backend is None:
            try:
                import cv2  # NOQA
                return True
            except ImportError:
                return False
        return backend == 'cv2'

    def _get_image(self, i):
        path = self.image_path(i)
        try:
            img = read_image(path, color=True)
            if getattr(img, 'ndim', 0) != 3:
                raise ValueError('not a decodable image')
        except Exception as e:
            raise OIDFormatError(
                path, None, 'cannot read image of example {} (ImageID {!r}): '
                '{}'.format(i, self.image_ids[i], e))
        self._sizes[i] = img.shape[1:]
        return img

    def _get_annotations(self, i):
        s, e = self._bbox_start[i], self._bbox_end[i]
        if e > s:
            h, w = self.get_size(i)
            bbox = (self._bbox[s:e] * np.array([h, w, h, w])).astype(
                np.float32)
        else:
            bbox = np.zeros((0, 4), dtype=np.float32)
        return bbox, self._label[s:e], self._is_group_of[s:e]

    def _get_img_labels(self, i):
        s, e = self._lab_start[i], self._lab_end[i]
        return self._img_label[s:e], self._img_label_conf[s:e]


def load_split(root, split, expand_hierarchy=False, **kwargs):
    """Load a split of an embedded Open Images style dataset directory.

    Layout (as written by :mod:`pfdet.datasets.synthetic`)::

        root/class-descriptions.csv             MID,Name (no header)
        root/hierarchy.json                     Open Images hierarchy JSON
        root/{split}/<ImageID>.jpg              images
        root/{split}-annotations-bbox.csv       boxes, 2018 format
        root/{split}-annotations-human-imagelabels.csv   (optional)

    Args:
        root (str): The dataset directory.
        split (str): E.g. ``'train'`` or ``'validation'``.
        expand_hierarchy (bool): Expand with ``root/hierarchy.json``.
        **kwargs: Passed to :class:`OpenImagesBboxDataset` (e.g.
            ``skip_invalid``, ``image_ids``, ``class_mids``).

    Returns:
        OpenImagesBboxDataset: With ``class_mids`` from
        ``class-descriptions.csv`` (unless given) and ``class_names`` set.

    """
    mids, names = read_class_descriptions(
        os.path.join(root, 'class-descriptions.csv'))
    kwargs.setdefault('class_mids', mids)
    hierarchy_path = os.path.join(root, 'hierarchy.json')
    if 'hierarchy' not in kwargs and (expand_hierarchy
                                      or os.path.exists(hierarchy_path)):
        kwargs['hierarchy'] = hierarchy_path
    labels = os.path.join(
        root, '{}-annotations-human-imagelabels.csv'.format(split))
    kwargs.setdefault('image_labels_csv',
                      labels if os.path.exists(labels) else None)
    dataset = OpenImagesBboxDataset(
        os.path.join(root, '{}-annotations-bbox.csv'.format(split)),
        os.path.join(root, split), expand_hierarchy=expand_hierarchy,
        **kwargs)
    name_of = dict(zip(mids, names))
    dataset.class_names = [name_of.get(m, m) for m in dataset.class_mids]
    return dataset

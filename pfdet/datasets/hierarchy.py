"""The Open Images class hierarchy and the ground-truth expansion it implies.

The hierarchy JSON is a tree ``{"LabelName": MID, "Subcategory": [...],
"Part": [...]}`` whose root (``/m/0bl9f``, "Entity") is not a class. A MID may
occur at several places (several parents).

Expansion follows the official TF Object Detection API tool
``oid_hierarchical_labels_expansion.py`` exactly (same rows, as a multiset):

* only ``Subcategory`` edges are followed, and the root is never emitted;
* the ancestors of a label are the labels on the root paths of **all** its
  occurrences reached through ``Subcategory`` edges (merged into a set); its
  descendants are the labels below any of those occurrences;
* a box is kept and copied once per distinct ancestor;
* a positive image label (``Confidence == 1``) is kept and copied to every
  ancestor, any other confidence (a negative label) is kept and copied to
  every descendant; duplicates are not removed.

Labels that occur *only* below ``Part`` edges (none do in the official files)
are members of the hierarchy without ancestors, where the official tool would
fail an assertion.

"""

import json

import numpy as np
import pandas as pd

OID_ROOT_MID = '/m/0bl9f'


class ClassHierarchy(object):
    """An Open Images class hierarchy.

    Args:
        tree (dict): The parsed hierarchy JSON.

    Attributes:
        mids (list of str): Every label of the hierarchy except the root, in
            order of first appearance (depth first).
        root (str): The root MID.
        part_edges (list of tuple): Distinct ``(subject_mid, part_mid)``
            pairs of the ``Part`` lists, in order of first appearance.

    """

    def __init__(self, tree):
        if not isinstance(tree, dict) or 'LabelName' not in tree:
            raise ValueError('hierarchy must be a dict with a "LabelName" '
                             '(the root), got {!r}'.format(type(tree)))
        self.root = tree['LabelName']
        mids = []
        seen = set()
        part_edges = []
        part_seen = set()
        ancestors = {}
        # (node, path of Subcategory ancestors or None when below a Part)
        stack = [(tree, (), True)]
        while stack:
            node, path, is_root = stack.pop()
            try:
                mid = node['LabelName']
            except (KeyError, TypeError):
                raise ValueError(
                    'hierarchy node without "LabelName": {!r}'.format(
                        node)[:200])
            if not is_root:
                if mid not in seen:
                    seen.add(mid)
                    mids.append(mid)
                    ancestors[mid] = set()
                if path is not None:
                    ancestors[mid].update(path)
            if is_root:
                child_path = () if path is not None else None
            else:
                child_path = path + (mid,) if path is not None else None
            for child in node.get('Part', ()):
                pair = (mid, child.get('LabelName'))
                if not is_root and pair not in part_seen:
                    part_seen.add(pair)
                    part_edges.append(pair)
            # depth first, Subcategory before Part, file order
            children = [(c, child_path, False)
                        for c in node.get('Subcategory', ())]
            children += [(c, None, False) for c in node.get('Part', ())]
            stack.extend(reversed(children))
        for mid in mids:
            ancestors[mid].discard(mid)
            ancestors[mid].discard(self.root)
        self.mids = mids
        self.part_edges = part_edges
        self._index = pd.Index(mids)
        self._mids_arr = np.asarray(mids, dtype=object)
        n = len(mids)
        code = {m: i for i, m in enumerate(mids)}
        anc_lists = [sorted(code[a] for a in ancestors[m]) for m in mids]
        self._anc_ptr, self._anc_idx = _csr(anc_lists)
        desc_lists = [[] for _ in range(n)]
        for i in range(n):
            for a in anc_lists[i]:
                desc_lists[a].append(i)
        self._desc_ptr, self._desc_idx = _csr(desc_lists)

    @classmethod
    def from_json(cls, path_or_dict):
        """Load a hierarchy.

        Args:
            path_or_dict (str or dict): A JSON file (e.g.
                ``bbox_labels_600_hierarchy.json``) or the parsed tree.

        Returns:
            ClassHierarchy

        """
        if isinstance(path_or_dict, dict):
            return cls(path_or_dict)
        with open(path_or_dict, encoding='utf-8') as f:
            try:
                tree = json.load(f)
            except ValueError as e:
                raise ValueError('{}: not a valid JSON file ({})'.format(
                    path_or_dict, e))
        return cls(tree)

    def __len__(self):
        return len(self.mids)

    def __contains__(self, mid):
        return mid in self._index

    def _code(self, mid):
        i = self._index.get_indexer([mid])[0]
        if i < 0:
            raise KeyError('class {!r} is not in the hierarchy'.format(mid))
        return i

    def ancestors(self, mid):
        """Ancestors of a class through ``Subcategory`` edges.

        Args:
            mid (str): A class MID.

        Returns:
            set of str: All ancestors over all parents, without the class
            itself and without the root.

        """
        i = self._code(mid)
        return set(self._mids_arr[
            self._anc_idx[self._anc_ptr[i]:self._anc_ptr[i + 1]]])

    def descendants(self, mid):
        """Descendants of a class through ``Subcategory`` edges.

        Args:
            mid (str): A class MID.

        Returns:
            set of str: All descendants, without the class itself.

        """
        i = self._code(mid)
        return set(self._mids_arr[
            self._desc_idx[self._desc_ptr[i]:self._desc_ptr[i + 1]]])

    def codes(self, mids, what='label'):
        """Positions of MIDs in :attr:`mids`, with a clear error if unknown.

        Args:
            mids (array-like of str): MIDs.
            what (str): How to call them in the error message.

        Returns:
            numpy.ndarray: int64 codes.

        """
        codes = self._index.get_indexer(pd.Index(np.asarray(mids,
                                                            dtype=object)))
        if len(codes) and codes.min() < 0:
            unknown = pd.unique(np.asarray(mids, dtype=object)[codes < 0])
            raise ValueError(
                '{} {} not in the class hierarchy (root {}): {}'.format(
                    len(unknown), what + ('s are' if len(unknown) > 1
                                          else ' is'),
                    self.root, ', '.join(map(repr, unknown[:10]))
                    + (', ...' if len(unknown) > 10 else '')))
        return codes

    def ancestor_matrix(self, mids):
        """The ancestor relation restricted to a class list.

        Args:
            mids (list of str): ``C`` class MIDs, all in the hierarchy.

        Returns:
            numpy.ndarray: ``(C, C)`` bool; ``M[i, j]`` is true when class
            ``j`` is class ``i`` or one of its ancestors.

        """
        codes = self.codes(mids, 'class')
        if len(np.unique(codes)) != len(codes):
            raise ValueError('ancestor_matrix: the class list has duplicates')
        pos = np.full(len(self.mids), -1, dtype=np.int64)
        pos[codes] = np.arange(len(codes))
        counts = np.diff(self._anc_ptr)
        child = np.repeat(np.arange(len(self.mids)), counts)
        anc = self._anc_idx
        keep = (pos[child] >= 0) & (pos[anc] >= 0)
        m = np.eye(len(codes), dtype=bool)
        m[pos[child[keep]], pos[anc[keep]]] = True
        return m

    def _expand(self, df, up):
        """Row-wise expansion; ``up[i]`` picks ancestors (else descendants)."""
        if 'LabelName' not in df.columns:
            raise ValueError('expansion needs a LabelName column')
        codes = self.codes(df['LabelName'].to_numpy())
        n = len(codes)
        ptr = np.where(up, self._anc_ptr[codes],
                       self._desc_ptr[codes] + len(self._anc_idx))
        end = np.where(up, self._anc_ptr[codes + 1],
                       self._desc_ptr[codes + 1] + len(self._anc_idx))
        idx = np.concatenate([self._anc_idx, self._desc_idx])
        counts = end - ptr + 1
        rep = np.repeat(np.arange(n), counts)
        start = np.cumsum(counts) - counts
        k = np.arange(len(rep)) - np.repeat(start, counts)
        new = codes[rep]
        copy = k > 0
        new[copy] = idx[ptr[rep[copy]] + k[copy] - 1]
        out = df.take(rep).reset_index(drop=True)
        out['LabelName'] = self._mids_arr[new]
        out.attrs = dict(df.attrs)
        return out

    def expand_boxes(self, df):
        """Expand boxes: each row is kept and copied to every ancestor.

        Args:
            df (pandas.DataFrame): Boxes with a ``LabelName`` column (other
                columns are copied unchanged).

        Returns:
            pandas.DataFrame: The expanded rows; each original row is
            followed by its copies.

        Raises:
            ValueError: If a label is not in the hierarchy.

        """
        return self._expand(df, np.ones(len(df), dtype=bool))

    def expand_image_labels(self, df):
        """Expand image labels: positives up, negatives down.

        Args:
            df (pandas.DataFrame): ``LabelName`` and ``Confidence`` columns;
                ``Confidence == 1`` is copied to every ancestor, any other
                value to every descendant (as the official tool does).

        Returns:
            pandas.DataFrame: The expanded rows (originals kept, duplicates
            not removed).

        Raises:
            ValueError: If a label is not in the hierarchy.

        """
        if 'Confidence' not in df.columns:
            raise ValueError('image-label expansion needs a Confidence column')
        conf = pd.to_numeric(df['Confidence']).to_numpy()
        return self._expand(df, conf == 1)


def _csr(lists):
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(x) for x in lists])
    idx = np.fromiter((j for x in lists for j in x), dtype=np.int64,
                      count=int(ptr[-1]))
    return ptr, idx

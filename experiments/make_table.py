"""Generate ``experiments/RESULTS.md`` from the result files of ``experiments/run.py``.

Usage::

    python experiments/make_table.py [--results-dir experiments/results]
        [--out experiments/RESULTS.md] [--readme README.md]

Every number of the generated tables comes from ``experiments/results/**/*.json`` (one
file per row, scale and seed, written by ``run.py``); the paper's numbers come from the row
files (``PAPER_MAP``, ``PAPER_DELTA``, ``PAPER_PER_CLASS_AP``). Nothing is edited by hand:
rerun this script (``run.py`` does it after every run) to refresh the tables. With
``--readme``, the block between :data:`BEGIN_MARK` and :data:`END_MARK` of each given file
is replaced by the same tables.

Conventions of the tables:

* APs are percentages (the OID challenge metric of ``pfdet.evaluations``, ``x 100``);
* "ours" is the mean over seeds, with the sample standard deviation when there are at
  least two seeds (``mean ± sd``), and the number of seeds;
* "ours Δ" is the mean of the **paired** per-seed differences (row N seed s minus row N-1
  seed s); "sign agrees" is ``yes`` when every seed's difference has the paper's sign,
  ``no`` when none does, ``mixed`` otherwise;
* results whose config no longer matches the row file are marked *stale*.
"""

import argparse
import collections
import glob
import json
import math
import os
import sys

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Run as a script, this directory comes first on sys.path and its ``pfdet/`` (the configs)
# would shadow the ``pfdet`` package: put the repository root there instead.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

#: The version tag of the result files this script reads.
RESULT_SCHEMA = 'pfdet-experiment-result/1'

BEGIN_MARK = '<!-- BEGIN GENERATED: experiments/make_table.py -->'
END_MARK = '<!-- END GENERATED: experiments/make_table.py -->'

#: ``(scale, row) -> seeds`` whose training diverged, filled by :func:`load_results`.
DIVERGED = {}

#: The co-occurrence criterion of issue 7: part-class average AP gain, every seed.
COOCCURRENCE_CRITERION = 5.0

#: Pairs with at least this many seeds give :func:`criterion_power_note` their spread.
POWER_MIN_SEEDS = 4

#: Numbers of seeds :func:`criterion_power_note` states the criterion's chance for (the
#: most any pair has here, and the issue's minimum).
POWER_SEEDS = (6, 2)


# ------------------------------------------------------------------ loading

def load_results(results_dir):
    """All result files under ``results_dir``, grouped by (scale, row).

    Returns:
        collections.OrderedDict: ``{(scale, row): [result, ...]}`` sorted by key, each
        list sorted by seed. Runs that diverged (``map`` None) are left out and listed in
        :data:`DIVERGED`.

    Raises:
        ValueError: A file is not valid JSON or lacks a required key (names the file).

    """
    groups = collections.defaultdict(list)
    DIVERGED.clear()
    for path in sorted(glob.glob(os.path.join(results_dir, '**', '*.json'), recursive=True)):
        try:
            with open(path) as f:
                result = json.load(f)
        except ValueError as e:
            raise ValueError('{}: not a valid result file: {}'.format(path, e)) from None
        check_result(result, path)
        result['_path'] = path
        groups[(result['scale'], result['row'])].append(result)
    out = collections.OrderedDict()
    for key in sorted(groups):
        # diverged runs (no mAP) are kept apart: reported, not averaged
        diverged = [r for r in groups[key] if r['map'] is None]
        groups[key] = [r for r in groups[key] if r['map'] is not None]
        DIVERGED[key] = sorted(r['seed'] for r in diverged)
        if not groups[key]:
            continue
        seeds = [r['seed'] for r in groups[key]]
        if len(set(seeds)) != len(seeds):
            raise ValueError('{}: seed {} of row {} ({}) appears twice'.format(
                results_dir, sorted(s for s in seeds if seeds.count(s) > 1)[0], key[1],
                key[0]))
        out[key] = sorted(groups[key], key=lambda r: r['seed'])
    return out


_REQUIRED = {'schema': str, 'row': str, 'scale': str, 'seed': int, 'map': float,
             'ap_per_class': dict, 'config_sha256': str}


def check_result(result, path='<result>'):
    """Validate the keys that the tables use; raise :class:`ValueError` naming ``path``."""
    if not isinstance(result, dict):
        raise ValueError('{}: a result file must hold a JSON object'.format(path))
    for key, typ in _REQUIRED.items():
        if key not in result:
            raise ValueError('{}: missing key {!r}'.format(path, key))
        value = result[key]
        if key == 'map' and value is None and result.get('diverged'):
            continue     # a run stopped on a non-finite loss
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            continue
        if not isinstance(value, typ) or isinstance(value, bool):
            raise ValueError('{}: key {!r} must be {}, got {!r}'.format(
                path, key, typ.__name__, value))
    if result['schema'] != RESULT_SCHEMA:
        raise ValueError('{}: unknown schema {!r} (expected {!r})'.format(
            path, result['schema'], RESULT_SCHEMA))
    for mid, entry in result['ap_per_class'].items():
        if not isinstance(entry, dict) or 'ap' not in entry or 'name' not in entry:
            raise ValueError('{}: ap_per_class[{!r}] must be {{"name": ..., "ap": ...}}'
                             .format(path, mid))


# ------------------------------------------------------------------ statistics

def _mean_sd(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return None, None, 0
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None, len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var), len(values)


def fmt_stat(values, digits=1):
    """``'41.2 ± 0.8 (2)'`` for percentages; ``'—'`` when empty."""
    mean, sd, n = _mean_sd(values)
    if mean is None:
        return '—'
    if sd is None:
        return '{:.{d}f} ({})'.format(mean, n, d=digits)
    return '{:.{d}f} ± {:.{d}f} ({})'.format(mean, sd, n, d=digits)


#: Two-sided 95 % quantiles of Student's t distribution, ``(degrees of freedom, t)``
#: (textbook values); between two entries the smaller df's, i.e. the wider, is used.
T975 = ((1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (6, 2.447),
        (7, 2.365), (8, 2.306), (9, 2.262), (10, 2.228), (12, 2.179), (15, 2.131),
        (20, 2.086), (30, 2.042), (60, 2.000), (120, 1.980))


def t975(df):
    """The 97.5 % quantile of Student's t with ``df`` >= 1 degrees of freedom (:data:`T975`)."""
    if df < 1:
        raise ValueError('df must be >= 1, got {}'.format(df))
    return [t for d, t in T975 if d <= df][-1]


def mean_ci95(values):
    """``(mean, low, high)``: the mean and its 95 % t-interval (``low``/``high`` None for
    fewer than two values; ``(None, None, None)`` for none)."""
    mean, sd, n = _mean_sd(values)
    if sd is None:
        return mean, None, None
    half = t975(n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def fmt_ci(values, digits=1):
    """``'+0.4 to +9.2'``: the 95 % t-interval of the mean of ``values`` (``'—'`` for
    fewer than two)."""
    _, low, high = mean_ci95(values)
    if low is None:
        return '—'
    return '{} to {}'.format(fmt_signed(low, digits), fmt_signed(high, digits))


def fmt_signed(value, digits=1):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '—'
    return '{:+.{d}f}'.format(value, d=digits)


def fmt_num(value, digits=1):
    if value is None:
        return '—'
    return '{:.{d}f}'.format(value, d=digits)


def paired_deltas(results, previous):
    """Per-seed differences (percentage points) of mAP between two rows' results."""
    prev = {r['seed']: r['map'] for r in previous}
    return [100 * (r['map'] - prev[r['seed']]) for r in results if r['seed'] in prev]


def sign_agreement(paper_delta, deltas):
    """``'yes'``, ``'no'``, ``'mixed'`` or ``'—'`` (see the module docstring)."""
    if paper_delta is None or not deltas or paper_delta == 0:
        return '—'
    agree = [d * paper_delta > 0 for d in deltas]
    if all(agree):
        return 'yes'
    if not any(agree):
        return 'no'
    return 'mixed'


def class_ap(result, name_or_mid):
    """AP (percent) of a class by MID or display name, or None."""
    table = result['ap_per_class']
    entry = table.get(name_or_mid)
    if entry is None:
        for e in table.values():
            if e['name'] == name_or_mid:
                entry = e
                break
    if entry is None or entry['ap'] is None:
        return None
    ap = float(entry['ap'])
    return None if math.isnan(ap) else 100 * ap


# ------------------------------------------------------------------ rows

class RowInfo(object):
    """What the tables need to know about one row file (labels, paper numbers)."""

    def __init__(self, key, label, group, paper_map=None, paper_delta=None, previous=None,
                 paper_extra=None, paper_per_class=None, paper_per_class_average=None,
                 with_key=None, current_view=None):
        self.key = key                  # 'ablation/05_cooccurrence'
        self.label = label
        self.group = group
        self.paper_map = paper_map
        self.paper_delta = paper_delta
        self.previous = previous        # key of the previous row, or None
        self.paper_extra = paper_extra or {}
        self.paper_per_class = paper_per_class              # name -> (baseline, with)
        self.paper_per_class_average = paper_per_class_average  # (baseline, with)
        self.with_key = with_key        # a "without" row: the row it is compared with
        self.current_view = current_view or {}   # scale -> config view of the row now


def _row_infos(results):
    """Row descriptions from the row files when importable, else from the results."""
    infos = collections.OrderedDict()
    try:
        from experiments import run
        for row in run.discover_rows():
            infos[row.key] = row.info()
    except Exception as e:  # pragma: no cover - reported, never silent
        sys.stderr.write('make_table: row files not importable ({}: {}); using the '
                         'labels stored in the results\n'.format(type(e).__name__, e))
    for (scale, key), rs in results.items():
        if key not in infos:
            r = rs[0]
            paper = r.get('paper', {})
            infos[key] = RowInfo(key, r.get('label', key), key.split('/')[0],
                                 paper.get('map'), paper.get('delta'), r.get('previous'))
    return infos


# ------------------------------------------------------------------ tables

def _diverged_note(scale, key):
    seeds = DIVERGED.get((scale, key))
    if not seeds:
        return ''
    return ' + seed {} diverged (NaN loss)'.format(', '.join(map(str, seeds)))


def _stale(rs, info, scale):
    view = info.current_view.get(scale)
    if view is None:
        return False
    from experiments.run import is_stale
    return any(is_stale(r, view) for r in rs)


def ablation_table(results, infos, scale):
    """Markdown lines of the ablation table of one scale."""
    lines = ['| # | Row (poster) | Paper mAP | Paper Δ | Ours mAP | Ours Δ | Sign agrees |',
             '|---|---|---|---|---|---|---|']
    n_rows = 0
    for key, info in infos.items():
        if info.group != 'ablation':
            continue
        rs = results.get((scale, key), [])
        prev = results.get((scale, info.previous), []) if info.previous else []
        deltas = paired_deltas(rs, prev) if info.previous else []
        number = key.split('/')[-1].split('_')[0]
        ours = fmt_stat([100 * r['map'] for r in rs]) if rs else 'not run'
        if rs and _stale(rs, info, scale):
            ours += ' *stale*'
        ours += _diverged_note(scale, key)
        if deltas:
            mean = sum(deltas) / len(deltas)
            ours_delta = fmt_signed(mean)
            if len(deltas) > 1:
                ours_delta += ' ({})'.format(', '.join(fmt_signed(d) for d in deltas))
        else:
            ours_delta = '—'
        lines.append('| {} | {} | {} | {} | {} | {} | {} |'.format(
            number, info.label, fmt_num(info.paper_map), fmt_signed(info.paper_delta),
            ours, ours_delta, sign_agreement(info.paper_delta, deltas) if deltas else '—'))
        n_rows += 1
    return lines if n_rows else []


def results_table(results, infos, scale):
    """Markdown lines of the results-table rows (single model, experts, ensemble)."""
    rows = [(k, i) for k, i in infos.items() if i.group == 'results_table']
    if not rows:
        return []
    lines = ['| Row (poster) | Paper val | Paper public | Paper private | Ours val mAP | '
             'Ours Δ | Sign agrees |', '|---|---|---|---|---|---|---|']
    for key, info in rows:
        rs = results.get((scale, key), [])
        prev = results.get((scale, info.previous), []) if info.previous else []
        deltas = paired_deltas(rs, prev) if info.previous else []
        ours = fmt_stat([100 * r['map'] for r in rs]) if rs else 'not run'
        if rs and _stale(rs, info, scale):
            ours += ' *stale*'
        paper = info.paper_extra
        paper_delta = None
        prev_info = infos.get(info.previous)
        if info.paper_map is not None and prev_info is not None and \
                prev_info.paper_map is not None:
            paper_delta = info.paper_map - prev_info.paper_map
        ours_delta = '—'
        if deltas:
            ours_delta = fmt_signed(sum(deltas) / len(deltas))
            if len(deltas) > 1:
                ours_delta += ' ({})'.format(', '.join(fmt_signed(d) for d in deltas))
        lines.append('| {} | {} | {} | {} | {} | {} | {} |'.format(
            info.label, fmt_num(info.paper_map, 2), fmt_num(paper.get('public'), 2),
            fmt_num(paper.get('private'), 2), ours, ours_delta,
            sign_agreement(paper_delta, deltas) if deltas else '—'))
    return lines


def part_classes(results_of_row):
    """``[(mid, name)]`` of the part classes of the co-occurrence pairs of a row's runs."""
    parts = collections.OrderedDict()
    for r in results_of_row:
        for subject, part in r.get('cooccurrence_pairs') or []:
            name = r['ap_per_class'].get(part, {}).get('name', part)
            parts[part] = name
    return sorted(parts.items(), key=lambda x: x[1])


def cooccurrence_pairs(infos):
    """The (without, with, description) row pairs of the per-class co-occurrence tables.

    The row holding the poster's Table 4 (``PAPER_PER_CLASS_AP``) against its previous row,
    then every row that declares the row it is compared with (``WITH``).
    """
    pairs = []
    for info in infos.values():
        if info.paper_per_class is not None and info.previous:
            pairs.append((info.previous, info.key, 'ablation rows {} → {}'.format(
                info.previous.split('/')[-1][:2], info.key.split('/')[-1][:2])))
    for info in infos.values():
        if info.with_key:
            pairs.append((info.key, info.with_key, '{} → {}'.format(
                info.label, infos[info.with_key].label if info.with_key in infos
                else info.with_key)))
    return pairs


def seed_pairs(results, scale, without_key, with_key):
    """``[(with result, without result)]`` of the seeds run on both sides of a pair."""
    with_by_seed = {r['seed']: r for r in results.get((scale, with_key), [])}
    return [(with_by_seed[r['seed']], r) for r in results.get((scale, without_key), [])
            if r['seed'] in with_by_seed]


def part_average(result, parts):
    """Mean AP (%) of the part classes ``[(mid, name)]`` in one run, or None."""
    aps = [class_ap(result, mid) for mid, _ in parts]
    aps = [a for a in aps if a is not None]
    return sum(aps) / len(aps) if aps else None


def seed_gains(pairs, ap_of):
    """``(with, without, gains)``: ``ap_of`` (a run's AP, or None) of each side over the
    seed pairs ``[(with result, without result)]``, and the per-seed gains where both
    sides have a value."""
    a = [ap_of(w) for w, _ in pairs]
    b = [ap_of(wo) for _, wo in pairs]
    return a, b, [x - y for x, y in zip(a, b) if x is not None and y is not None]


def part_average_gains(results, scale, without_key, with_key):
    """``(pairs, parts, with, without, gains)`` of a with/without pair's part-class
    average (:func:`seed_gains` over :func:`seed_pairs`, parts from the with side)."""
    pairs = seed_pairs(results, scale, without_key, with_key)
    parts = part_classes([w for w, _ in pairs])
    return (pairs, parts) + seed_gains(pairs, lambda r: part_average(r, parts))


def found_share(pairs, mids):
    """``'without % → with %'``: drawn objects of ``mids`` (hidden truth) detected with
    score > 0.5, mean over the seeds and the classes (``'—'`` without hidden truth)."""
    def of(r):
        h = r.get('hidden_truth_parts') or {}
        v = [h[m]['found'] for m in mids if m in h and h[m]['found'] is not None]
        return 100 * sum(v) / len(v) if v else None
    a = [x for x in (of(w) for w, _ in pairs) if x is not None]
    b = [x for x in (of(wo) for _, wo in pairs) if x is not None]
    if not a or not b:
        return '—'
    return '{:.0f} % → {:.0f} %'.format(sum(b) / len(b), sum(a) / len(a))


def cooccurrence_summary(results, infos, scale):
    """Markdown lines: one row per with/without pair, the part-class average of each side
    (mean ± spread over seeds), the gain per seed and whether the criterion holds."""
    lines = []
    for without_key, with_key, _ in cooccurrence_pairs(infos):
        pairs, parts, a, b, d = part_average_gains(results, scale, without_key, with_key)
        if not d:
            continue
        label = infos[with_key].label if with_key in infos else with_key
        lines.append('| {} | `{}` | {} | {} | {} ({}) | {} | {} | {} |'.format(
            label, with_key, fmt_stat([x for x in b if x is not None]),
            fmt_stat([x for x in a if x is not None]), fmt_signed(sum(d) / len(d)),
            ', '.join(fmt_signed(x) for x in d), fmt_ci(d),
            found_share(pairs, [mid for mid, _ in parts]),
            'yes' if all(x >= COOCCURRENCE_CRITERION for x in d) else 'no'))
    if not lines:
        return []
    return ['| With the loss (setting) | Row | Part-class AP without | With | Δ mean (per seed) '
            '| 95 % CI of the mean Δ | Drawn parts found, without → with | Criterion |',
            '|---|---|---|---|---|---|---|---|'] + lines


def normal_cdf(z):
    """The standard normal distribution function."""
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def criterion_power(true_mean, sd, n, criterion=COOCCURRENCE_CRITERION):
    """Probability that ``n`` seeds all show a gain >= ``criterion`` when the gain of one
    seed is normal with mean ``true_mean`` and standard deviation ``sd`` (independent
    seeds)."""
    if sd <= 0:
        return 1.0 if true_mean >= criterion else 0.0
    return normal_cdf((true_mean - criterion) / sd) ** n


def mean_for_power(sd, n, power, criterion=COOCCURRENCE_CRITERION):
    """The true mean gain at which ``n`` seeds all clear ``criterion`` with probability
    ``power`` (the inverse of :func:`criterion_power` in ``true_mean``)."""
    from statistics import NormalDist
    if not 0 < power < 1:
        raise ValueError('power must be in (0, 1), got {!r}'.format(power))
    return criterion + sd * NormalDist().inv_cdf(power ** (1. / n))


def _range(values, fmt):
    lo, hi = fmt(min(values)), fmt(max(values))
    return lo if lo == hi else '{} to {}'.format(lo, hi)


def criterion_power_note(results, infos, scale, power=0.8):
    """Markdown lines: what the every-seed criterion asks of the seeds, given the seed
    spread of the part-class gain of the pairs with >= :data:`POWER_MIN_SEEDS` seeds and
    the poster's per-class average gain (normal approximation; ``[]`` when no pair has
    enough seeds or no row states the poster's average)."""
    paper = [i.paper_per_class_average for i in infos.values()
             if i.paper_per_class_average and None not in i.paper_per_class_average]
    sds = []
    for without_key, with_key, _ in cooccurrence_pairs(infos):
        d = part_average_gains(results, scale, without_key, with_key)[-1]
        if len(d) >= POWER_MIN_SEEDS:
            sds.append(_mean_sd(d)[1])
    if not sds or not paper:
        return []
    gain = paper[0][1] - paper[0][0]
    pct = lambda p: '{:.0f} %'.format(100 * p)    # NOQA: E731
    n_max, n_min = POWER_SEEDS
    return [
        'What the criterion asks of the seeds (normal approximation, independent seeds): '
        'in the {} pair(s) with at least {} seeds the part-class gain of one seed scatters '
        'with a standard deviation of {} AP. At that spread a true mean gain of {} (the '
        "poster's) clears +{:.0f} on every one of {} seeds with probability {} (on both of "
        '{} seeds: {}); {} on {} seeds needs a true mean gain of {}.'.format(
            len(sds), POWER_MIN_SEEDS, _range(sds, fmt_num), fmt_signed(gain),
            COOCCURRENCE_CRITERION, n_max,
            _range([criterion_power(gain, s, n_max) for s in sds], pct), n_min,
            _range([criterion_power(gain, s, n_min) for s in sds], pct), pct(power), n_max,
            _range([mean_for_power(s, n_max, power) for s in sds], fmt_signed))]


def cooccurrence_table(results, infos, scale, without_key, with_key):
    """Markdown lines of one per-class table (Table 4): ``without_key`` vs ``with_key``.

    Returns:
        tuple: ``(lines, per_seed_average_deltas)``; the deltas (percentage points) are
        those of the part-class average, paired by seed.

    """
    papers = [i for i in infos.values() if i.paper_per_class is not None]
    if not papers:
        return [], []
    paper_info = papers[0]
    paper = paper_info.paper_per_class
    with_rs = results.get((scale, with_key), [])
    without_rs = results.get((scale, without_key), [])
    if not with_rs or not without_rs:
        return ['Not run yet: needs results of both `{}` and `{}`.'.format(
            without_key, with_key)], []
    parts = part_classes(with_rs)
    lines = ['| Class | Paper baseline | Paper co-occ. | Paper Δ | Ours without | '
             'Ours with | Ours Δ (per seed) | Drawn parts found, without → with |',
             '|---|---|---|---|---|---|---|---|']
    pairs = seed_pairs(results, scale, without_key, with_key)

    def row(label, ap_of, paper_entry, mids=()):
        a, b, d = seed_gains(pairs, ap_of)
        pb, pc = paper_entry if paper_entry else (None, None)
        pd_ = pc - pb if pb is not None and pc is not None else None
        mean_d = sum(d) / len(d) if d else None
        lines.append('| {} | {} | {} | {} | {} | {} | {}{} | {} |'.format(
            label, fmt_num(pb), fmt_num(pc), fmt_signed(pd_),
            fmt_stat([x for x in b if x is not None]),
            fmt_stat([x for x in a if x is not None]), fmt_signed(mean_d),
            ' ({})'.format(', '.join(fmt_signed(x) for x in d)) if len(d) > 1 else '',
            found_share(pairs, mids)))
        return d

    for mid, name in parts:
        row(name, lambda r, m=mid: class_ap(r, m), paper.get(name), [mid])

    def average(r):
        return part_average(r, parts)

    deltas = row('**Part-class average** ({} classes; paper: {} classes)'.format(
        len(parts), len(paper)), average, paper_info.paper_per_class_average,
        [mid for mid, _ in parts])
    others = sorted(
        {(mid, e['name']) for r in with_rs for mid, e in r['ap_per_class'].items()
         if e['name'] in paper and mid not in dict(parts)}, key=lambda x: x[1])
    for mid, name in others:
        row('{} (not a part here: control)'.format(name),
            lambda r, m=mid: class_ap(r, m), paper.get(name))
    return lines, deltas


def generate_markdown(results, infos=None):
    """The body of ``RESULTS.md`` (a string)."""
    infos = infos if infos is not None else _row_infos(results)
    scales = sorted({scale for scale, _ in results} |
                    {scale for (scale, _), seeds in DIVERGED.items() if seeds},
                    key=lambda s: (s != 'toy', s))
    out = []
    if not scales:
        return 'No results yet: run `python experiments/run.py --rows all --seeds 2`.\n'
    for scale in scales:
        rs = [r for (s, _), v in results.items() if s == scale for r in v]
        seeds = sorted({r['seed'] for r in rs})
        machines = sorted({_machine_summary(r) for r in rs})
        commits = sorted({_commit_summary(r) for r in rs})
        wall = sum(r.get('wall_time_s', {}).get('total', 0) for r in rs)
        out.append('### {} scale'.format(scale.capitalize()))
        out.append('')
        out.append('{} result(s), seeds {}; total wall time {:.0f} min; machine: {}; '
                   'commit: {}.'.format(len(rs), ', '.join(map(str, seeds)), wall / 60,
                           '; '.join(machines), ', '.join(commits)))
        out.append('')
        table = ablation_table(results, infos, scale)
        if table:
            out.append('**Ablation** (validation mAP, OID challenge metric, %; the paper '
                       'trains on Open Images with batch 512):')
            out.append('')
            out.extend(table)
            out.append('')
        table = results_table(results, infos, scale)
        if table:
            out.append('**Results table** (paper columns: validation / public LB / private '
                       'LB; ours: validation mAP):')
            out.append('')
            out.extend(table)
            out.append('')
        table = cooccurrence_summary(results, infos, scale)
        if table:
            out.append('**Co-occurrence loss, every with/without pair** (part-class average AP, '
                       'OID metric on the validation split; criterion: gain >= +{:.0f} on every '
                       'seed; per-class tables below):'.format(COOCCURRENCE_CRITERION))
            out.append('')
            out.extend(table)
            out.append('')
            note = criterion_power_note(results, infos, scale)
            if note:
                out.extend(note)
                out.append('')
        for without_key, with_key, description in cooccurrence_pairs(infos):
            table, deltas = cooccurrence_table(results, infos, scale, without_key, with_key)
            if not table:
                continue
            out.append('**Co-occurrence loss, per class: {}** (poster Table 4; AP on the '
                       'validation split, OID metric: a class counts only in the images '
                       'where it is verified):'.format(description))
            out.append('')
            out.extend(table)
            out.append('')
            if deltas:
                holds = all(d >= COOCCURRENCE_CRITERION for d in deltas)
                out.append('Co-occurrence criterion (part-class average AP gain >= +{:.0f} '
                           'for every seed): **{}** (per seed: {}).'.format(
                               COOCCURRENCE_CRITERION,
                               'holds' if holds else 'does not hold',
                               ', '.join(fmt_signed(d) for d in deltas)))
                out.append('')
    return '\n'.join(out)


def _machine_summary(r):
    m = r.get('machine', {})
    return '{} CPU(s) {}, {} rank(s)'.format(m.get('n_cpu', '?'), m.get('cpu', '?'),
                                              m.get('n_ranks', '?'))


def _commit_summary(r):
    c = r.get('commit', {})
    sha = (c.get('sha') or 'unknown')[:10]
    return sha + ('+dirty' if c.get('dirty') else '')


def write_results_md(results_dir, out_path, readmes=()):
    """Write ``RESULTS.md`` and refresh the generated block of each readme.

    Returns:
        str: The generated tables.

    """
    results = load_results(results_dir)
    body = generate_markdown(results)
    header = ('# PFDet reproduction: results\n\n'
              'Generated by `experiments/make_table.py` from `{}`; do not edit by hand.\n'
              'Regenerate with `python experiments/run.py --rows all --seeds 2` (runs what '
              'is missing, then writes this file).\n\n'.format(
                  os.path.relpath(results_dir, _REPO) if os.path.isabs(results_dir)
                  else results_dir))
    with open(out_path, 'w') as f:
        f.write(header + body + '\n')
    for path in readmes:
        replace_block(path, body)
    return body


def replace_block(path, body):
    """Replace the text between :data:`BEGIN_MARK` and :data:`END_MARK` in ``path``.

    Returns:
        bool: Whether the file had the markers (a file without them is left untouched).

    """
    if not os.path.exists(path):
        return False
    with open(path) as f:
        text = f.read()
    start = text.find(BEGIN_MARK)
    end = text.find(END_MARK)
    if start < 0 or end < start:
        return False
    new = text[:start + len(BEGIN_MARK)] + '\n' + body.rstrip('\n') + '\n' + text[end:]
    if new != text:
        with open(path, 'w') as f:
            f.write(new)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--results-dir', default=os.path.join(_REPO, 'experiments', 'results'))
    parser.add_argument('--out', default=os.path.join(_REPO, 'experiments', 'RESULTS.md'))
    parser.add_argument('--readme', nargs='*', default=[
        os.path.join(_REPO, 'README.md')],
        help='files whose generated block is refreshed (files without markers are skipped)')
    args = parser.parse_args(argv)
    try:
        body = write_results_md(args.results_dir, args.out, args.readme)
    except ValueError as e:
        sys.stderr.write('error: {}\n'.format(e))
        return 2
    print(body)
    return 0


if __name__ == '__main__':
    sys.exit(main())

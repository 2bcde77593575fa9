"""Bookkeeping of ``experiments/run.py`` and the table generator ``experiments/make_table.py``.

No training here: the training and evaluation commands are replaced by a stub that writes
the files the real scripts write, and the tables are generated from **fake** result files
(made-up mAPs chosen so that every expected cell can be computed by hand).
"""

import json
import math
import os
import subprocess
import sys
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from experiments import make_table  # NOQA: E402
from experiments import run  # NOQA: E402


# ------------------------------------------------------------------ helpers

def _fake_result(row, seed, map_, aps=None, scale='toy', sha='0' * 64, pairs=()):
    aps = aps or {}
    return {
        'schema': make_table.RESULT_SCHEMA, 'row': row, 'scale': scale, 'seed': seed,
        'map': map_, 'config_sha256': sha, 'label': row, 'previous': None,
        'ap_per_class': {mid: {'name': name, 'ap': ap, 'n_gt': 10}
                         for mid, (name, ap) in aps.items()},
        'cooccurrence_pairs': [list(p) for p in pairs],
        'wall_time_s': {'train': 60.0, 'eval': 6.0, 'total': 66.0},
        'machine': {'n_cpu': 2, 'cpu': 'fake', 'n_ranks': 2},
        'commit': {'sha': 'abcdef1234567', 'dirty': False},
    }


def _write(results_dir, result):
    group, name = result['row'].split('/')
    path = os.path.join(results_dir, result['scale'], group, name,
                        'seed{}.json'.format(result['seed']))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(result, f)
    return path


def _infos():
    I = make_table.RowInfo
    return {
        'ablation/00_a': I('ablation/00_a', 'Baseline', 'ablation', 60.0, None, None),
        'ablation/01_b': I('ablation/01_b', '+ b', 'ablation', 60.3, 0.3, 'ablation/00_a'),
        'ablation/02_c': I('ablation/02_c', '+ c', 'ablation', 63.4, 3.1, 'ablation/01_b',
                           paper_per_class={'Human face': (82.7, None), 'Wheel': (48.3, 66.4),
                                            'Tie': (84.7, 91.5)},
                           paper_per_class_average=(61.1, 70.3)),
    }


FACE, WHEEL, TIE = '/m/0dzct', '/m/083wq', '/m/01rkbr'
PAIRS = [('/m/01g317', FACE), ('/m/0k4j', WHEEL)]


def _fake_results():
    # made-up numbers: seed 0 / seed 1
    out = [
        _fake_result('ablation/00_a', 0, 0.30), _fake_result('ablation/00_a', 1, 0.32),
        _fake_result('ablation/01_b', 0, 0.31), _fake_result('ablation/01_b', 1, 0.31),
        _fake_result('ablation/02_c', 0, 0.40, pairs=PAIRS, aps={
            FACE: ('Human face', 0.50), WHEEL: ('Wheel', 0.70), TIE: ('Tie', 0.8)}),
        _fake_result('ablation/02_c', 1, 0.42, pairs=PAIRS, aps={
            FACE: ('Human face', 0.60), WHEEL: ('Wheel', 0.50), TIE: ('Tie', 0.8)}),
    ]
    out[2]['ap_per_class'] = {FACE: {'name': 'Human face', 'ap': 0.40, 'n_gt': 3},
                              WHEEL: {'name': 'Wheel', 'ap': 0.40, 'n_gt': 3},
                              TIE: {'name': 'Tie', 'ap': 0.9, 'n_gt': 3}}
    out[3]['ap_per_class'] = {FACE: {'name': 'Human face', 'ap': 0.45, 'n_gt': 3},
                              WHEEL: {'name': 'Wheel', 'ap': 0.50, 'n_gt': 3},
                              TIE: {'name': 'Tie', 'ap': 0.7, 'n_gt': 3}}
    return out


# ------------------------------------------------------------------ make_table

def test_statistics_by_hand():
    assert make_table.fmt_stat([30.0, 32.0]) == '31.0 ± 1.4 (2)'   # sd = 2 / sqrt(2)
    assert make_table.fmt_stat([30.0]) == '30.0 (1)'
    assert make_table.fmt_stat([]) == '—'
    assert make_table.sign_agreement(0.3, [1.0, 0.0]) == 'mixed'
    assert make_table.sign_agreement(0.3, [1.0, 2.0]) == 'yes'
    assert make_table.sign_agreement(-0.3, [1.0, 2.0]) == 'no'
    assert make_table.sign_agreement(None, [1.0]) == '—'


def test_tables_from_fake_results(tmp_path):
    for r in _fake_results():
        _write(str(tmp_path), r)
    results = make_table.load_results(str(tmp_path))
    text = make_table.generate_markdown(results, _infos())
    lines = text.splitlines()
    row0 = [l for l in lines if l.startswith('| 00 |')][0]
    assert '| 60.0 | — | 31.0 ± 1.4 (2) | — | — |' in row0
    # 01: seeds 0.31-0.30 = +1, 0.31-0.32 = -1 -> mean 0, mixed signs
    row1 = [l for l in lines if l.startswith('| 01 |')][0]
    assert '| 31.0 ± 0.0 (2) | +0.0 (+1.0, -1.0) | mixed |' in row1
    # 02: +9 and +11 -> +10, paper +3.1 -> yes
    row2 = [l for l in lines if l.startswith('| 02 |')][0]
    assert '| 63.4 | +3.1 | 41.0 ± 1.4 (2) | +10.0 (+9.0, +11.0) | yes |' in row2
    # per-class table: face 40/45 -> 50/60 (+10, +15); wheel 40/50 -> 70/50 (+30, 0)
    face = [l for l in lines if l.startswith('| Human face |')][0]
    assert face == ('| Human face | 82.7 | — | — | 42.5 ± 3.5 (2) | 55.0 ± 7.1 (2) | '
                    '+12.5 (+10.0, +15.0) | — |')
    wheel = [l for l in lines if l.startswith('| Wheel |')][0]
    assert '| 48.3 | 66.4 | +18.1 |' in wheel and '+15.0 (+30.0, +0.0)' in wheel
    # average over the two part classes: seed 0: 40 -> 60 (+20); seed 1: 47.5 -> 55 (+7.5)
    avg = [l for l in lines if l.startswith('| **Part-class average**')][0]
    assert '| 61.1 | 70.3 | +9.2 |' in avg and '+13.8 (+20.0, +7.5)' in avg
    # Tie is in Table 4 but not a part here: shown as a control, not averaged
    assert any(l.startswith('| Tie (not a part here: control) |') for l in lines)
    assert '**holds** (per seed: +20.0, +7.5)' in text


def _pair_markdown(tmp_path, results):
    """The generated markdown of ``results`` with ``cooccurrence/00_w`` declared as the
    "without" row of ``ablation/02_c``, and the row infos used."""
    for r in results:
        _write(str(tmp_path), r)
    infos = _infos()
    infos['cooccurrence/00_w'] = make_table.RowInfo(
        'cooccurrence/00_w', 'c without', 'cooccurrence', with_key='ablation/02_c')
    return make_table.generate_markdown(make_table.load_results(str(tmp_path)), infos), infos


def test_with_without_pair_table(tmp_path):
    # a 'without' row that names the row it is compared with gets its own per-class table
    results = _fake_results()
    for r in results[2:4]:
        r['row'] = 'cooccurrence/00_w'
    text, _ = _pair_markdown(tmp_path, results)
    assert 'per class: ablation rows 01 → 02**' in text
    assert 'per class: c without → + c**' in text
    assert 'needs results of both `ablation/01_b`' in text    # 01_b was renamed away
    assert '**holds** (per seed: +20.0, +7.5)' in text
    # the summary has one line per pair with both sides run: part-class averages
    # 40 / 47.5 -> 60 / 55 (sd of (40, 47.5) = 7.5 / sqrt(2) = 5.3), gains +20 and +7.5
    # 95 % interval of the mean gain: 13.75 +- t(1) * sd / sqrt(2) = 13.75 +- 12.706 * 6.25
    summary = [l for l in text.splitlines() if l.startswith('| + c | `ablation/02_c` |')]
    assert summary == ['| + c | `ablation/02_c` | 43.8 ± 5.3 (2) | 57.5 ± 3.5 (2) | '
                       '+13.8 (+20.0, +7.5) | -65.7 to +93.2 | — | yes |']
    assert text.index('every with/without pair') < text.index('per class: ablation rows')


def test_criterion_power_in_closed_form():
    from statistics import NormalDist
    # a true mean at the criterion clears it on each seed with probability 1/2
    assert make_table.criterion_power(5.0, 3.0, 6) == pytest.approx(0.5 ** 6)
    # one standard deviation above it: Phi(1) per seed (NormalDist as the oracle)
    assert make_table.criterion_power(8.0, 3.0, 2) == pytest.approx(NormalDist().cdf(1) ** 2)
    assert make_table.criterion_power(9.2, 0.0, 6) == 1.0
    assert make_table.criterion_power(4.9, 0.0, 6) == 0.0
    # mean_for_power inverts it: (Phi(z))^n = p  <=>  z = Phi^-1(p^(1/n))
    m = make_table.mean_for_power(4.0, 6, 0.8)
    assert m == pytest.approx(5.0 + 4.0 * NormalDist().inv_cdf(0.8 ** (1 / 6)))
    assert make_table.criterion_power(m, 4.0, 6) == pytest.approx(0.8)
    with pytest.raises(ValueError, match='power'):
        make_table.mean_for_power(4.0, 6, 1.0)


def test_criterion_power_note_from_the_seed_spread(tmp_path):
    from statistics import NormalDist
    # one with/without pair over four seeds with part-class gains +4, +6, +8, +10 (face
    # and wheel both move by the gain): sd = sqrt((9 + 1 + 1 + 9) / 3)
    results = []
    for seed, gain in enumerate((4, 6, 8, 10)):
        for row, ap in (('cooccurrence/00_w', 0.40), ('ablation/02_c', 0.40 + gain / 100.)):
            results.append(_fake_result(row, seed, 0.3, pairs=PAIRS, aps={
                FACE: ('Human face', ap), WHEEL: ('Wheel', ap)}))
    text, infos = _pair_markdown(tmp_path, results)
    sd = (20 / 3.) ** 0.5
    p6 = NormalDist().cdf((9.2 - 5) / sd) ** 6
    p2 = NormalDist().cdf((9.2 - 5) / sd) ** 2
    need = 5 + sd * NormalDist().inv_cdf(0.8 ** (1 / 6))
    assert ('in the 1 pair(s) with at least 4 seeds the part-class gain of one seed '
            'scatters with a standard deviation of {:.1f} AP. At that spread a true mean gain '
            "of +9.2 (the poster's) clears +5 on every one of 6 seeds with probability "
            '{:.0f} % (on both of 2 seeds: {:.0f} %); 80 % on 6 seeds needs a true mean gain '
            'of {:+.1f}.'.format(sd, 100 * p6, 100 * p2, need)) in text
    # fewer seeds than POWER_MIN_SEEDS: no note
    for r in results:
        if r['seed'] == 3:
            os.remove(os.path.join(str(tmp_path), r['scale'], *r['row'].split('/'),
                                   'seed3.json'))
    text = make_table.generate_markdown(make_table.load_results(str(tmp_path)), infos)
    assert 'What the criterion asks' not in text and '**holds**' not in text


def test_criterion_fails_when_one_seed_is_below(tmp_path):
    results = _fake_results()
    results[5]['ap_per_class'][FACE]['ap'] = 0.40     # seed 1: 47.5 -> 45.0
    for r in results:
        _write(str(tmp_path), r)
    text = make_table.generate_markdown(make_table.load_results(str(tmp_path)), _infos())
    assert '**does not hold** (per seed: +20.0, -2.5)' in text
    # the summary line; 95 % interval 8.75 +- 12.706 * 22.5 / 2
    assert '| +8.8 (+20.0, -2.5) | -134.2 to +151.7 | — | no |' in text


def test_stale_results_are_marked(tmp_path):
    for r in _fake_results():
        _write(str(tmp_path), r)
    infos = _infos()
    infos['ablation/01_b'].current_view = {'toy': {'train': {'epoch': 3}}}
    infos['ablation/00_a'].current_view = {'toy': {'train': {'epoch': 3}}}
    for r in make_table.load_results(str(tmp_path))[('toy', 'ablation/00_a')]:
        r['config'] = {'train': {'epoch': 3}}
        _write(str(tmp_path), {k: v for k, v in r.items() if k != '_path'})
    text = make_table.generate_markdown(make_table.load_results(str(tmp_path)), infos)
    row1 = [l for l in text.splitlines() if l.startswith('| 01 |')][0]
    assert '*stale*' in row1
    row0 = [l for l in text.splitlines() if l.startswith('| 00 |')][0]
    assert '*stale*' not in row0


def test_not_run_rows_and_empty_dir(tmp_path):
    assert 'No results yet' in make_table.generate_markdown({}, _infos())
    _write(str(tmp_path), _fake_result('ablation/00_a', 0, 0.3))
    text = make_table.generate_markdown(make_table.load_results(str(tmp_path)), _infos())
    assert '| 01 | + b | 60.3 | +0.3 | not run | — | — |' in text
    assert 'Not run yet' in text


@pytest.mark.parametrize('mutate,message', [
    (lambda r: r.pop('map'), "missing key 'map'"),
    (lambda r: r.update(seed='0'), "key 'seed' must be int"),
    (lambda r: r.update(schema='other/9'), 'unknown schema'),
    (lambda r: r.update(ap_per_class={'x': 1}), r'ap_per_class\[\'x\'\]'),
])
def test_bad_result_files_name_the_file(tmp_path, mutate, message):
    r = _fake_result('ablation/00_a', 0, 0.3)
    mutate(r)
    path = _write(str(tmp_path), r)
    with pytest.raises(ValueError, match=message) as e:
        make_table.load_results(str(tmp_path))
    assert path in str(e.value)


def test_invalid_json_names_the_file(tmp_path):
    path = tmp_path / 'toy' / 'x.json'
    path.parent.mkdir()
    path.write_text('{not json')
    with pytest.raises(ValueError, match='x.json: not a valid result file'):
        make_table.load_results(str(tmp_path))


def test_replace_block(tmp_path):
    path = tmp_path / 'README.md'
    path.write_text('intro\n{}\nold table\n{}\noutro\n'.format(
        make_table.BEGIN_MARK, make_table.END_MARK))
    assert make_table.replace_block(str(path), '| new |\n')
    assert path.read_text() == 'intro\n{}\n| new |\n{}\noutro\n'.format(
        make_table.BEGIN_MARK, make_table.END_MARK)
    other = tmp_path / 'other.md'
    other.write_text('no markers\n')
    assert not make_table.replace_block(str(other), 'x')
    assert other.read_text() == 'no markers\n'


# ------------------------------------------------------------------ run.py

def test_select_rows():
    rows = run.discover_rows()
    keys = [r.key for r in rows]
    assert keys[0] == 'ablation/00_baseline'
    assert [r.key for r in run.select_rows('05', rows)] == ['ablation/05_cooccurrence']
    assert [r.key for r in run.select_rows('05_cooccurrence,00', rows)] == \
        ['ablation/00_baseline', 'ablation/05_cooccurrence']
    assert len(run.select_rows('ablation', rows)) == 9
    assert run.select_rows('all', rows) == rows
    with pytest.raises(ValueError, match="no row '99'"):
        run.select_rows('99', rows)


def test_config_hash_ignores_log_and_seed_only():
    rows = {r.name: r for r in run.discover_rows()}
    c = rows['00_baseline'].config('toy')
    sha = run.config_sha256(c)
    c['log']['interval'] = (1, 'iteration')
    assert run.config_sha256(c) == sha
    c['seed'] = 5
    c['eval']['n_images'] = 3            # the in-training progress evaluation only
    c['eval']['interval'] = (7, 'iteration')
    assert run.config_sha256(c) == sha
    c['eval']['preset'] = 'visualize'    # changes the evaluation: a new hash
    assert run.config_sha256(c) != sha
    c['eval']['preset'] = 'evaluate'
    c['train']['epoch'] = 123
    assert run.config_sha256(c) != sha
    assert rows['00_baseline'].config_sha('toy') == sha
    assert rows['00_baseline'].config_sha('full') != sha


def test_write_config_file_round_trips(tmp_path):
    from pfdet.training import load_config
    rows = {r.name: r for r in run.discover_rows()}
    c = rows['08_senet154_anchors'].config('toy')
    path = str(tmp_path / 'config.py')
    run.write_config_file(path, c, 'test')
    assert load_config(path) == c


class _Stub(object):
    """Stands in for train_multi.py / evaluate.py: writes their output files."""

    def __init__(self, fail_eval=False):
        self.calls = []
        self.models = []      # the --model of each evaluate.py call
        self.fail_eval = fail_eval

    def __call__(self, cmd, log_path, deadline, env=None):
        script = os.path.basename(cmd[cmd.index(sys.executable) + 1])
        out = cmd[cmd.index('--out') + 1]
        self.calls.append((script, cmd[cmd.index('--config') + 1]))
        if '--model' in cmd:
            self.models.append(cmd[cmd.index('--model') + 1])
        os.makedirs(out, exist_ok=True)
        if script == 'train_multi.py':
            with open(os.path.join(out, 'model_final.npz'), 'w') as f:
                f.write('fake')
            with open(os.path.join(out, 'args'), 'w') as f:
                json.dump({'total_iteration': 7, 'n_train_images': 5,
                           'cooccurrence_pairs': [['/m/01g317', FACE]]}, f)
        else:
            if self.fail_eval:
                raise run.RunError('command failed with status 1: evaluate.py')
            with open(os.path.join(out, 'result.json'), 'w') as f:
                json.dump({'map': 0.25, 'n_images': 3, 'n_classes_with_gt': 2}, f)
            with open(os.path.join(out, 'ap_per_class.csv'), 'w') as f:
                f.write('LabelName,Name,n_gt_boxes,AP\n{},Human face,4,0.5\n'
                        '/m/0k4j,Car,0,\n'.format(FACE))
        return 0.0


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    stub = _Stub()
    monkeypatch.setattr(run, 'run_command', stub)
    monkeypatch.setattr(run, 'ensure_dataset',
                        lambda config, log=print: {'root': 'fake', 'meta_sha256': 'f' * 64})
    argv = ['--results-dir', str(tmp_path / 'results'), '--work-dir', str(tmp_path / 'work'),
            '--table', str(tmp_path / 'RESULTS.md'), '--readme']
    return stub, argv, tmp_path


def test_runs_records_and_skips(sandbox):
    stub, argv, tmp = sandbox
    assert run.main(['--rows', '04,05', '--seeds', '2'] + argv) == 0
    assert [c[0] for c in stub.calls] == ['train_multi.py', 'evaluate.py'] * 4
    path = tmp / 'results' / 'toy' / 'ablation' / '05_cooccurrence' / 'seed1.json'
    result = json.loads(path.read_text())
    make_table.check_result(result, str(path))
    assert result['seed'] == 1 and result['map'] == 0.25
    assert result['paper'] == {'map': 65.2, 'delta': 0.7}
    assert result['ap_per_class'][FACE] == {'name': 'Human face', 'ap': 0.5, 'n_gt': 4}
    assert result['ap_per_class']['/m/0k4j']['ap'] is None
    assert result['n_iterations'] == 7
    assert result['cooccurrence_pairs'] == [['/m/01g317', FACE]]
    assert set(result['wall_time_s']) == {'train', 'eval', 'total'}
    assert result['machine']['n_ranks'] == 2 and result['machine']['n_cpu'] >= 1
    assert set(result['commit']) == {'sha', 'dirty'}
    assert result['config_file'] == 'experiments/pfdet/ablation/05_cooccurrence.py'
    rows = {r.name: r for r in run.discover_rows()}
    assert result['config_sha256'] == rows['05_cooccurrence'].config_sha('toy')
    assert result['config'] == rows['05_cooccurrence'].config_view('toy')
    # the config the commands got is the row's toy config with the seed set
    from pfdet.training import load_config
    cfg = load_config(stub.calls[-1][1])
    expected = rows['05_cooccurrence'].config('toy')
    expected['seed'] = 1
    assert cfg == expected
    # ... except that train_multi.py's own progress evaluation sees the first 8 images only
    train_cfg = load_config(stub.calls[-2][1])
    assert train_cfg['eval']['n_images'] == run.TOY_TRAIN_EVAL_IMAGES == 8
    train_cfg['eval']['n_images'] = expected['eval'].get('n_images')
    assert train_cfg == expected
    assert '| 05 | + Co-occurrence loss | 65.2 | +0.7 | 25.0 ± 0.0 (2) | +0.0' in \
        (tmp / 'RESULTS.md').read_text()
    # second invocation: everything is done, nothing runs
    n = len(stub.calls)
    assert run.main(['--rows', '04,05', '--seeds', '2'] + argv) == 0
    assert len(stub.calls) == n
    # --force reruns
    assert run.main(['--rows', '05', '--seeds', '1', '--force'] + argv) == 0
    assert [c[0] for c in stub.calls[n:]] == ['train_multi.py', 'evaluate.py']


def test_resume_skips_finished_training(sandbox):
    stub, argv, tmp = sandbox
    stub.fail_eval = True
    assert run.main(['--rows', '00', '--seeds', '1'] + argv) == 1   # evaluation failed
    assert not (tmp / 'results' / 'toy' / 'ablation' / '00_baseline').exists()
    stub.fail_eval = False
    assert run.main(['--rows', '00', '--seeds', '1'] + argv) == 0
    # the model was kept: only the evaluation ran again
    assert [c[0] for c in stub.calls] == ['train_multi.py', 'evaluate.py', 'evaluate.py']


def test_added_keys_do_not_make_results_stale():
    from experiments.pfdet import ablation
    old = {'a': 1, 'b': {'c': [1, 2], 'd': 'x'}}
    assert ablation.config_changes(old, {'a': 1, 'b': {'c': [1, 2], 'd': 'x', 'new': 0}}) == []
    assert ablation.config_changes(old, {'a': 2, 'b': {'c': [1], 'd': 'x'}}) == ['a', 'b.c']
    assert ablation.config_changes(old, {'a': 1, 'b': {'c': [1, 2]}}) == ['b.d']
    view = {'train': {'epoch': 1}}
    assert not run.is_stale({'config': {'train': {'epoch': 1}}}, dict(view, new=1))
    assert run.is_stale({'config': {'train': {'epoch': 2}}}, view)
    # results written without a stored config fall back to the hash
    assert not run.is_stale({'config_sha256': run.config_sha256(view)}, view)
    assert run.is_stale({'config_sha256': '0' * 64}, view)


def test_stale_results_rerun_unless_kept(sandbox, monkeypatch):
    stub, argv, tmp = sandbox
    assert run.main(['--rows', '01', '--seeds', '1'] + argv) == 0
    path = tmp / 'results' / 'toy' / 'ablation' / '01_multiscale' / 'seed0.json'
    result = json.loads(path.read_text())
    result['config']['train']['epoch'] = 99     # as if the row file changed since
    path.write_text(json.dumps(result))
    rows = run.discover_rows()
    row = [r for r in rows if r.name == '01_multiscale'][0]
    assert run.run_status(str(tmp / 'results'), 'toy', row, 0) == 'stale'
    n = len(stub.calls)
    assert run.main(['--rows', '01', '--seeds', '1', '--keep-stale'] + argv) == 0
    assert len(stub.calls) == n
    # the run directory was made by the old config too: training starts over
    marker = tmp / 'work' / 'toy' / 'ablation' / '01_multiscale' / 'seed0' / 'config.json'
    marker.write_text(json.dumps(result['config']))
    assert run.main(['--rows', '01', '--seeds', '1'] + argv) == 0
    assert [c[0] for c in stub.calls[n:]] == ['train_multi.py', 'evaluate.py']
    assert run.run_status(str(tmp / 'results'), 'toy', row, 0) == 'done'


def test_budget_leaves_runs_pending(sandbox):
    stub, argv, tmp = sandbox
    assert run.main(['--rows', '00', '--seeds', '2', '--budget-minutes', '0'] + argv) == 3
    assert stub.calls == []
    assert 'No results yet' in (tmp / 'RESULTS.md').read_text()


def test_dry_run_runs_nothing(sandbox):
    stub, argv, tmp = sandbox
    assert run.main(['--rows', 'all', '--seeds', '2', '--dry-run'] + argv) == 0
    assert stub.calls == []


def test_run_command_stops_at_the_deadline(tmp_path):
    deadline = run.Deadline(0.5 / 60)
    log = str(tmp_path / 'log')
    start = time.time()
    with pytest.raises(run.BudgetExceeded):
        run.run_command([sys.executable, '-c', 'import time; time.sleep(60)'], log, deadline)
    assert time.time() - start < 30
    with pytest.raises(run.RunError, match='status 3'):
        run.run_command([sys.executable, '-c', 'import sys; sys.exit(3)'], log,
                        run.Deadline(None))
    assert 'sys.exit(3)' in open(log).read()


def test_ensure_dataset_refuses_other_data(tmp_path):
    root = tmp_path / 'data'
    root.mkdir()
    from pfdet.datasets import synthetic
    meta = {'seed': 1, 'params': synthetic.default_params(),
            'splits': {'train': {'n_images': 10}, 'validation': {'n_images': 2}}}
    meta['params']['size'] = list(meta['params']['size'])
    meta['params']['n_negatives'] = list(meta['params']['n_negatives'])
    (root / 'meta.json').write_text(json.dumps(meta))
    config = {'dataset': {'root': str(root), 'synthetic': {'n_train': 10, 'n_val': 2,
                                                           'seed': 0}}}
    with pytest.raises(ValueError, match=r"seed: 1 != 0"):
        run.ensure_dataset(config)
    config['dataset']['synthetic']['seed'] = 1
    info = run.ensure_dataset(config)
    assert len(info['meta_sha256']) == 64
    config['dataset']['synthetic']['params'] = {'q': 0.9}
    with pytest.raises(ValueError, match=r'params.q: 0.3 != 0.9'):
        run.ensure_dataset(config)


def test_script_entry_points_import_the_package():
    # run as scripts, experiments/pfdet must not shadow the pfdet package
    for script in ('run.py', 'make_table.py'):
        out = subprocess.run(
            [sys.executable, os.path.join(REPO, 'experiments', script), '--help'],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        assert out.returncode == 0, out.stdout


def test_hidden_truth_scores(tmp_path):
    import pandas as pd
    hidden = tmp_path / 'hidden.csv'
    # two drawn faces (one annotated, one not), one group-of box (ignored), one wheel
    hidden.write_text(
        'ImageID,LabelName,XMin,XMax,YMin,YMax,IsGroupOf,Annotated\n'
        'a,{f},0.0,0.5,0.0,0.5,0,1\n'
        'a,{f},0.5,1.0,0.5,1.0,0,0\n'
        'a,{f},0.0,1.0,0.0,1.0,1,1\n'
        'b,{w},0.0,0.5,0.0,0.5,0,0\n'.format(f=FACE, w=WHEEL))
    dets = pd.DataFrame({
        'ImageID': ['a', 'a', 'a', 'b'], 'LabelName': [FACE, FACE, WHEEL, FACE],
        'Score': [0.9, 0.3, 0.8, 0.7],
        # face 1 found at 0.9 (and a shifted box at 0.3, IoU < 0.5); a wheel detection on
        # face 2 does not count for faces; image b has a face detection, not a wheel one
        'XMin': [0.0, 0.3, 0.5, 0.0], 'XMax': [0.5, 0.8, 1.0, 0.5],
        'YMin': [0.0, 0.3, 0.5, 0.0], 'YMax': [0.5, 0.8, 1.0, 0.5]})
    out = run.hidden_truth_scores(dets, str(hidden), [FACE, WHEEL])
    assert out[FACE] == {'n': 2, 'mean_score': 0.45, 'found': 0.5}
    assert out[WHEEL] == {'n': 1, 'mean_score': 0.0, 'found': 0.0}


def test_prepare_run_dir(tmp_path):
    args = run.parse_args(['--work-dir', str(tmp_path)])
    rdir = str(tmp_path / 'r')
    config = {'train': {'epoch': 1}, 'log': {'interval': 1}}
    run.prepare_run_dir(config, rdir, args)
    (tmp_path / 'r' / 'input.csv').write_text('kept')
    run.prepare_run_dir(dict(config, log={'interval': 5}), rdir, args)   # log: same run
    assert (tmp_path / 'r' / 'input.csv').exists()
    run.prepare_run_dir({'train': {'epoch': 2}}, rdir, args)           # another config
    assert not (tmp_path / 'r' / 'input.csv').exists()
    args = run.parse_args(['--force'])
    (tmp_path / 'r' / 'input.csv').write_text('x')
    run.prepare_run_dir({'train': {'epoch': 2}}, rdir, args)           # --force: cleared ...
    assert not (tmp_path / 'r' / 'input.csv').exists()
    (tmp_path / 'r' / 'input.csv').write_text('x')
    run.prepare_run_dir({'train': {'epoch': 2}}, rdir, args)           # ... once
    assert (tmp_path / 'r' / 'input.csv').exists()


def test_diverged_runs_are_reported_not_averaged(tmp_path):
    results = _fake_results()
    results[1]['map'] = None                      # 00_a seed 1 diverged
    results[1]['ap_per_class'] = {}
    results[1]['diverged'] = 'error: non-finite loss at iteration 61'
    for r in results:
        _write(str(tmp_path), r)
    loaded = make_table.load_results(str(tmp_path))
    assert [r['seed'] for r in loaded[('toy', 'ablation/00_a')]] == [0]
    text = make_table.generate_markdown(loaded, _infos())
    row0 = [l for l in text.splitlines() if l.startswith('| 00 |')][0]
    assert '| 30.0 (1) + seed 1 diverged (NaN loss) |' in row0
    row1 = [l for l in text.splitlines() if l.startswith('| 01 |')][0]
    assert '| +1.0 | yes |' in row1                # only seed 0 is paired
    results[1].pop('diverged')
    _write(str(tmp_path), results[1])
    with pytest.raises(ValueError, match="key 'map' must be float"):
        make_table.load_results(str(tmp_path))


def _diverging(stub, iteration):
    """``run_command`` whose trainings fail on a NaN loss at ``iteration`` (logged as
    train_multi.py logs it); other commands go to ``stub``."""
    def diverge(cmd, log_path, deadline, env=None):
        if 'train_multi.py' in ' '.join(cmd):
            with open(log_path, 'a') as f:
                f.write('\n$ train\nerror: non-finite loss at iteration {}: main/loss = nan\n'
                        .format(iteration))
            raise run.RunError('command failed with status 1')
        return stub(cmd, log_path, deadline, env)
    return diverge


def test_divergence_is_recorded(sandbox):
    stub, argv, tmp = sandbox
    run.run_command = _diverging(stub, 61)
    assert run.main(['--rows', '00', '--seeds', '1'] + argv) == 0
    path = tmp / 'results' / 'toy' / 'ablation' / '00_baseline' / 'seed0.json'
    result = json.loads(path.read_text())
    assert result['map'] is None and 'non-finite loss at iteration 61' in result['diverged']
    assert 'seed 0 diverged' in (tmp / 'RESULTS.md').read_text()
    assert run.main(['--rows', '00', '--seeds', '1'] + argv) == 0   # done: not retried
    assert stub.calls == []


def test_toy_only_rows_are_not_planned_at_full_scale(sandbox):
    rows = [r for r in run.discover_rows() if r.group == 'cooccurrence']
    toy_only = [r for r in rows if not r.has_scale('full')]
    assert toy_only and all(r.has_scale('toy') for r in rows)
    _, argv, _ = sandbox
    args = run.parse_args(argv)
    full = {r.key for r, _, _ in run.plan(rows, 1, 'full', args)}
    toy = {r.key for r, _, _ in run.plan(rows, 1, 'toy', args)}
    assert full == {r.key for r in rows} - {r.key for r in toy_only}
    assert toy == {r.key for r in rows}
    # and a full-scale run of the group skips them with a line, running nothing else
    stub = sandbox[0]
    assert run.main(['--rows', 'cooccurrence', '--scale', 'full', '--dry-run'] + argv) == 0
    assert stub.calls == []


def test_ensemble_member_without_detections_is_run_again(sandbox):
    """A fresh clone has the committed results but no run directories: an ensemble row
    re-trains its members (rewriting their results) instead of failing."""
    stub, argv, tmp = sandbox
    key = 'ablation/08_senet154_anchors'
    args = run.parse_args(argv)
    logged = []
    context = run.RunContext(args, run.Deadline(None), logged.append)
    with pytest.raises(ValueError, match='run that row first'):
        context.member('toy', key, 0)
    assert stub.calls == []
    # the committed result of an earlier machine: no run directory here
    path = _write(str(tmp / 'results'), _fake_result(key, 0, 0.5))
    result, eval_dir = context.member('toy', key, 0)
    assert [c[0] for c in stub.calls] == ['train_multi.py', 'evaluate.py']
    assert eval_dir == str(tmp / 'work' / 'toy' / 'ablation' / '08_senet154_anchors' /
                           'seed0' / 'eval')
    assert result['map'] == 0.25 and json.loads(open(path).read())['map'] == 0.25
    assert any('mAP 25.00 again (committed result: 50.00)' in line for line in logged)
    # once the detections are there, they are used as they are
    with open(os.path.join(eval_dir, 'detections.csv'), 'w') as f:
        f.write('ImageID,LabelName,Score,XMin,XMax,YMin,YMax\n')
    assert context.member('toy', key, 0)[0]['map'] == 0.25
    assert len(stub.calls) == 2


def _reuse_rows(work, stub):
    return [(c[0], os.path.relpath(c[1], str(work))) for c in stub.calls]


def test_rows_that_differ_in_validation_data_only_share_the_trained_model(sandbox,
                                                                          monkeypatch):
    """Rows 29-34 declare TRAINED_AS: their model is that of rows 15-18 (only the validation
    data differs), trained once in that row's run directory and evaluated for each."""
    stub, argv, tmp = sandbox
    monkeypatch.setattr(run, 'train_split_sha256', lambda root: 'the same split')
    rows = 'cooccurrence/16_dense_scenes,cooccurrence/30_dense_validation,' \
        'cooccurrence/32_exhaustive_validation'
    assert run.main(['--rows', rows, '--seeds', '1'] + argv) == 0
    work = tmp / 'work' / 'toy' / 'cooccurrence'
    assert _reuse_rows(work, stub) == [
        ('train_multi.py', '16_dense_scenes/seed0/train_config.py'),
        ('evaluate.py', '16_dense_scenes/seed0/config.py'),
        ('evaluate.py', '30_dense_validation/seed0/config.py'),
        ('evaluate.py', '32_exhaustive_validation/seed0/config.py')]
    model = str(work / '16_dense_scenes' / 'seed0' / 'train' / 'model_final.npz')
    assert stub.models == [model] * 3
    from pfdet.training import load_config
    by_row = {r.key: r for r in run.discover_rows()}
    for name in ('30_dense_validation', '32_exhaustive_validation'):
        result = json.loads((tmp / 'results' / 'toy' / 'cooccurrence' / name /
                             'seed0.json').read_text())
        make_table.check_result(result, name)
        assert result['model_from']['row'] == 'cooccurrence/16_dense_scenes'
        assert result['model_from']['seed'] == 0
        assert result['wall_time_s']['train'] == 0
        assert result['config_sha256'] == by_row['cooccurrence/' + name].config_sha('toy')
        # evaluated with the row's own config: its validation data
        cfg = load_config(str(work / name / 'seed0' / 'config.py'))
        assert cfg['dataset']['synthetic']['params']['q_validation'] > 0.1
    source = json.loads((tmp / 'results' / 'toy' / 'cooccurrence' / '16_dense_scenes' /
                         'seed0.json').read_text())
    assert source['model_from'] is None


def test_reused_model_is_trained_on_demand(sandbox, monkeypatch):
    """A fresh clone: the committed results of 15-18 but no run directories. Running row 30
    alone trains row 16's model (in 16's run directory, leaving 16's result alone)."""
    stub, argv, tmp = sandbox
    monkeypatch.setattr(run, 'train_split_sha256', lambda root: 'the same split')
    assert run.main(['--rows', 'cooccurrence/30_dense_validation', '--seeds', '1'] + argv) == 0
    work = tmp / 'work' / 'toy' / 'cooccurrence'
    assert _reuse_rows(work, stub) == [
        ('train_multi.py', '16_dense_scenes/seed0/train_config.py'),
        ('evaluate.py', '30_dense_validation/seed0/config.py')]
    assert not (tmp / 'results' / 'toy' / 'cooccurrence' / '16_dense_scenes').exists()
    assert not (work / '30_dense_validation' / 'seed0' / 'train').exists()
    # a run directory left by a run.py that trained row 30 itself: its train time is not
    # reported for the reused model
    (work / '30_dense_validation' / 'seed0' / 'wall_time.json').write_text(
        json.dumps({'train': 125.0, 'eval': 30.0}))
    path = tmp / 'results' / 'toy' / 'cooccurrence' / '30_dense_validation' / 'seed0.json'
    path.unlink()
    assert run.main(['--rows', 'cooccurrence/30_dense_validation', '--seeds', '1'] + argv) == 0
    assert len(stub.calls) == 2      # model and evaluation were there: nothing ran
    result = json.loads(path.read_text())
    assert result['wall_time_s'] == {'train': 0.0, 'eval': 30.0, 'total': 30.0}
    # the second time the model is there: nothing is trained, row 30 is done
    assert run.main(['--rows', 'cooccurrence/30_dense_validation,cooccurrence/32_exhaustive_'
                     'validation', '--seeds', '1'] + argv) == 0
    assert [c[0] for c in stub.calls[2:]] == ['evaluate.py']


def test_reuse_is_refused_when_the_training_differs(sandbox, monkeypatch, capsys):
    stub, argv, tmp = sandbox
    # the training split of the two data directories differs
    monkeypatch.setattr(run, 'train_split_sha256', lambda root: root)
    assert run.main(['--rows', 'cooccurrence/30_dense_validation', '--seeds', '1'] + argv) == 1
    out = capsys.readouterr().out
    assert 'FAILED: cooccurrence/30_dense_validation: TRAINED_AS cooccurrence/16_dense_scenes' \
        ', but the training splits in data/embedded_dense_q010_s010_v040 and ' \
        'data/embedded_dense_q010_s010 differ' in out
    # a TRAINED_AS row whose training config differs (here: the loss)
    monkeypatch.setattr(run, 'train_split_sha256', lambda root: 'the same split')
    module = {r.key: r for r in run.discover_rows()}['cooccurrence/30_dense_validation'].module
    monkeypatch.setattr(module, 'TRAINED_AS', 'cooccurrence/15_dense_scenes_without')
    assert run.main(['--rows', 'cooccurrence/30_dense_validation', '--seeds', '1'] + argv) == 1
    assert 'the configs differ in train_chain.cooccurrence (only dataset.root' in \
        capsys.readouterr().out
    assert stub.calls == []


def test_train_split_fingerprint_ignores_the_validation_split(tmp_path):
    from pfdet.datasets import synthetic
    common = dict(n_train=4, n_val=4, seed=3, q=0.2, size=64)
    synthetic.generate(str(tmp_path / 'a'), **common)
    synthetic.generate(str(tmp_path / 'b'), q_validation=1.0, **common)
    synthetic.generate(str(tmp_path / 'c'), **dict(common, q=0.5))
    a, b, c = (run.train_split_sha256(str(tmp_path / k)) for k in 'abc')
    assert a == b != c
    # the validation split did change
    assert (tmp_path / 'a' / 'validation-annotations-bbox.csv').read_bytes() != \
        (tmp_path / 'b' / 'validation-annotations-bbox.csv').read_bytes()
    os.remove(str(tmp_path / 'a' / 'hierarchy.json'))
    with pytest.raises(ValueError, match='hierarchy.json: missing'):
        run.train_split_sha256(str(tmp_path / 'a'))


def test_mean_confidence_interval_by_hand():
    # 2, 4, ..., 12: mean 7, sd sqrt(14), t(5) = 2.571 -> 7 +- 2.571 * sqrt(14 / 6)
    mean, low, high = make_table.mean_ci95([2, 4, 6, 8, 10, 12])
    half = 2.571 * math.sqrt(14 / 6.)
    assert mean == 7 and abs(low - (7 - half)) < 1e-12 and abs(high - (7 + half)) < 1e-12
    assert make_table.fmt_ci([2, 4, 6, 8, 10, 12]) == '+3.1 to +10.9'
    # the t quantile: tabulated, and the wider neighbour in between
    assert make_table.t975(1) == 12.706 and make_table.t975(5) == 2.571
    assert make_table.t975(11) == make_table.t975(10) == 2.228
    assert make_table.t975(1000) == 1.980
    with pytest.raises(ValueError):
        make_table.t975(0)
    assert make_table.mean_ci95([3.0]) == (3.0, None, None)
    assert make_table.mean_ci95([]) == (None, None, None)
    assert make_table.fmt_ci([3.0]) == '—'


def test_divergence_of_a_shared_model_is_recorded_for_the_row_that_reuses_it(sandbox,
                                                                              monkeypatch):
    """Row 30 reuses row 16's model; when that model diverges while trained on demand, row
    30 is recorded as diverged (like row 16 itself), not reported as a failure."""
    stub, argv, tmp = sandbox
    monkeypatch.setattr(run, 'train_split_sha256', lambda root: 'the same split')
    run.run_command = _diverging(stub, 7)
    assert run.main(['--rows', 'cooccurrence/30_dense_validation', '--seeds', '1'] + argv) == 0
    results = tmp / 'results' / 'toy' / 'cooccurrence'
    result = json.loads((results / '30_dense_validation' / 'seed0.json').read_text())
    make_table.check_result(result, '30_dense_validation')
    assert result['map'] is None
    assert result['diverged'].startswith('the model of cooccurrence/16_dense_scenes '
                                         '(TRAINED_AS) diverged: error: non-finite loss at '
                                         'iteration 7')
    assert result['model_from']['row'] == 'cooccurrence/16_dense_scenes'
    assert result['wall_time_s'] == {'train': 0.0, 'eval': 0.0, 'total': 0.0}
    assert not (results / '16_dense_scenes').exists()     # the source row's result: untouched
    assert stub.calls == []                                # nothing evaluated
    # done: not retried
    assert run.main(['--rows', 'cooccurrence/30_dense_validation', '--seeds', '1'] + argv) == 0
    assert not (results / '16_dense_scenes').exists()

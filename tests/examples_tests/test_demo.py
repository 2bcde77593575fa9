"""examples/demo.py end to end on a tiny config (the pipeline of ``make demo``)."""

import os
import re

from example_helpers import run
from example_helpers import TINY


def test_demo_pipeline(tmp_path):
    data = str(tmp_path / 'data')
    cfg = tmp_path / 'demo_tiny.py'
    cfg.write_text(TINY.format(root=data, iteration=4, base_lr=0.02, eval_every=2,
                               snapshot_every=4)
                   + "config['dataset']['synthetic'] = dict(n_train=24, n_val=8, seed=0, "
                     "params=dict(size=(64, 96)))\n")
    out = str(tmp_path / 'out')
    p = run(['examples/demo.py', '--config', str(cfg), '--out', out, '--n-pictures', '2'],
            timeout=300)
    assert p.returncode == 0, p.stdout[-3000:]
    last = p.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r'demo: val mAP \d\.\d{3} \(OID challenge metric\), wall time '
                        r'\d+m\d{2}s', last), last
    assert os.path.exists(os.path.join(data, 'meta.json'))
    for name in ('train/loss.png', 'train/map.png', 'train/model_final.npz',
                 'eval/per_class_ap.csv', 'eval/detections.csv', 'eval/submission.csv', 'eval/result.json'):
        assert os.path.exists(os.path.join(out, name)), name
    pngs = [n for n in os.listdir(os.path.join(out, 'detections')) if n.endswith('.png')]
    assert len(pngs) == 2
    assert 'mAP (OID challenge metric' in p.stdout   # the per-class table was printed
    # a second run would reuse the generated data; other parameters regenerate it
    demo = _load_demo()
    synthetic = dict(n_train=24, n_val=8, seed=0, params=dict(size=(64, 96)))
    assert demo._dataset_ready(data, synthetic)
    assert not demo._dataset_ready(data, dict(synthetic, seed=1))
    assert not demo._dataset_ready(data, dict(synthetic, n_val=9))
    assert not demo._dataset_ready(data, dict(synthetic, params=dict(size=(64, 128))))


def _load_demo():
    import importlib.util
    from example_helpers import ROOT
    spec = importlib.util.spec_from_file_location(
        '_pfdet_demo', os.path.join(ROOT, 'examples', 'demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

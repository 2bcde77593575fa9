"""Draw PFDet's detections on images into PNG files (ChainerCV ``vis_bbox`` style).

Usage::

    python examples/predict.py --config experiments/demo.py \\
        --model result/demo/train/model_final.npz --out result/demo/detections \\
        [--n-images 8 | IMAGE [IMAGE ...]] [--score-thresh 0.5]

Without image paths, the first ``--n-images`` images of the config's validation split are
drawn, and their ground-truth boxes are drawn beside the detections. One PNG per image is
written to ``--out`` (``<ImageID>.png``).
"""

import argparse
import os
import sys
import warnings

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

import matplotlib  # NOQA: E402
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # NOQA: E402

from chainercv.utils import read_image  # NOQA: E402
from chainercv.visualizations import vis_bbox  # NOQA: E402

from pfdet.training import builder  # NOQA: E402
from pfdet.training import ConfigError  # NOQA: E402
from pfdet.training import load_config  # NOQA: E402
from pfdet.training import load_model  # NOQA: E402
from pfdet.training import SnapshotError  # NOQA: E402

warnings.filterwarnings('ignore', message=r'.* is experimental\.', category=FutureWarning)


def draw(path, img, bbox, label, score, names, gt=None, title=None):
    """Write one PNG: detections, and the ground truth on the left when given."""
    n = 2 if gt is not None else 1
    fig = plt.figure(figsize=(4.5 * n, 4.5))
    if gt is not None:
        ax = fig.add_subplot(1, 2, 1)
        vis_bbox(img, gt[0], gt[1], label_names=names, ax=ax)
        ax.set_title('ground truth')
        ax.axis('off')
    ax = fig.add_subplot(1, n, n)
    vis_bbox(img, bbox, label, score, label_names=names, ax=ax)
    ax.set_title(title or 'detections')
    ax.axis('off')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Draw PFDet detections into PNG files.')
    parser.add_argument('--config', required=True)
    parser.add_argument('--model', required=True,
                        help='model_final.npz or a trainer snapshot')
    parser.add_argument('--out', required=True, help='output directory of the PNGs')
    parser.add_argument('--n-images', type=int, default=8,
                        help='validation images to draw when no IMAGE is given')
    parser.add_argument('--score-thresh', type=float, default=None,
                        help="minimum score drawn (default: the 'visualize' preset)")
    parser.add_argument('images', nargs='*', help='image files')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        config = load_config(args.config)
        classes = builder.load_classes(config)
        model = builder.build_model(config, len(classes), None, pretrained_model=None)
        load_model(args.model, model)
        if args.images:
            missing = [p for p in args.images if not os.path.isfile(p)]
            if missing:
                raise ConfigError('image not found: {}'.format(missing[0]))
            items = [(os.path.splitext(os.path.basename(p))[0], read_image(p), None)
                     for p in args.images]
        else:
            val = builder.build_dataset(config, 'val', classes)
            n = min(args.n_images, len(val))
            data = val.slice[:n, ('img', 'bbox', 'label')]
            items = []
            for i in range(n):
                img, bbox, label = data[i]
                items.append((val.image_ids[i], img, (bbox, label)))
    except (ConfigError, SnapshotError) as e:
        sys.stderr.write('error: {}\n'.format(e))
        sys.exit(2)
    model.use_preset('visualize')
    if args.score_thresh is not None:
        model.score_thresh = args.score_thresh
    os.makedirs(args.out, exist_ok=True)
    for image_id, img, gt in items:
        bboxes, labels, scores = model.predict([img])
        path = os.path.join(args.out, '{}.png'.format(image_id))
        draw(path, img, bboxes[0], labels[0], scores[0], classes.names, gt,
             title='PFDet detections (score >= {:.2f})'.format(model.score_thresh))
        print('{}: {} detection(s)'.format(path, len(bboxes[0])))


if __name__ == '__main__':
    main()

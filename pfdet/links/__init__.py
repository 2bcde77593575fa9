"""Links of pfdet (flat re-exports)."""

from pfdet.links import model  # NOQA

from pfdet.links.model.pfdet import backbone_names  # NOQA
from pfdet.links.model.pfdet import bbox_head_loss_post  # NOQA
from pfdet.links.model.pfdet import bbox_head_loss_pre  # NOQA
from pfdet.links.model.pfdet import build_backbone  # NOQA
from pfdet.links.model.pfdet import build_fpn_extractor  # NOQA
from pfdet.links.model.pfdet import context_boxes  # NOQA
from pfdet.links.model.pfdet import cooccurrence_ignore_mask  # NOQA
from pfdet.links.model.pfdet import cooccurrence_pairs_matrix  # NOQA
from pfdet.links.model.pfdet import default_fpn_channel  # NOQA
from pfdet.links.model.pfdet import disable_frozen_updates  # NOQA
from pfdet.links.model.pfdet import FasterRCNN  # NOQA
from pfdet.links.model.pfdet import FPN  # NOQA
from pfdet.links.model.pfdet import freeze_bn  # NOQA
from pfdet.links.model.pfdet import freeze_layers  # NOQA
from pfdet.links.model.pfdet import FrozenBatchNormalization  # NOQA
from pfdet.links.model.pfdet import load_backbone_npz  # NOQA
from pfdet.links.model.pfdet import make_head_targets  # NOQA
from pfdet.links.model.pfdet import matched_label_mask  # NOQA
from pfdet.links.model.pfdet import mine_cooccurrence_pairs  # NOQA
from pfdet.links.model.pfdet import pair_annotation_rates  # NOQA
from pfdet.links.model.pfdet import part_edge_pairs  # NOQA
from pfdet.links.model.pfdet import PFDet  # NOQA
from pfdet.links.model.pfdet import PFDetBboxHead  # NOQA
from pfdet.links.model.pfdet import PFDetTrainChain  # NOQA
from pfdet.links.model.pfdet import PSP  # NOQA
from pfdet.links.model.pfdet import pseudo_box_ignore_mask  # NOQA
from pfdet.links.model.pfdet import verified_part_weights  # NOQA
from pfdet.links.model.pfdet import RPN  # NOQA
from pfdet.links.model.pfdet import rpn_loss  # NOQA
from pfdet.links.model.pfdet import SENet154  # NOQA
from pfdet.links.model.pfdet import SEResNeXtTiny  # NOQA
from pfdet.links.model.pfdet import set_bn_mode  # NOQA

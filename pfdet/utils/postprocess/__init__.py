"""Class-wise suppression and fusion of one image's detections."""

from pfdet.utils.postprocess.adj_nms import adj_nms  # NOQA
from pfdet.utils.postprocess.box_voting import box_voting  # NOQA
from pfdet.utils.postprocess.concatenate_models import concatenate_models  # NOQA
from pfdet.utils.postprocess.non_maximum_suppression import non_maximum_suppression  # NOQA
from pfdet.utils.postprocess.non_maximum_weighted import non_maximum_weighted  # NOQA
from pfdet.utils.postprocess.soft_nms import soft_nms  # NOQA

"""Utilities: post-processing of detections."""

from pfdet.utils.postprocess import adj_nms  # NOQA
from pfdet.utils.postprocess import box_voting  # NOQA
from pfdet.utils.postprocess import concatenate_models  # NOQA
from pfdet.utils.postprocess import non_maximum_suppression  # NOQA
from pfdet.utils.postprocess import non_maximum_weighted  # NOQA
from pfdet.utils.postprocess import soft_nms  # NOQA

"""Generic, model-agnostic differentiable functions."""

from pfdet.functions.roi_average_align_2d import roi_average_align_2d  # NOQA
from pfdet.functions.roi_average_align_2d import ROIAverageAlign2D  # NOQA

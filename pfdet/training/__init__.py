"""Training utilities: configs, schedules, transforms, samplers, builders, extensions."""

from pfdet.training.config import CONFIG_SCHEMA  # NOQA
from pfdet.training.config import ConfigError  # NOQA
from pfdet.training.config import deep_update  # NOQA
from pfdet.training.config import load_config  # NOQA
from pfdet.training.config import validate_config  # NOQA
from pfdet.training.extensions import find_latest_snapshot  # NOQA
from pfdet.training.extensions import install_abort_on_error  # NOQA
from pfdet.training.extensions import list_snapshots  # NOQA
from pfdet.training.extensions import load_model  # NOQA
from pfdet.training.extensions import load_snapshot  # NOQA
from pfdet.training.extensions import MultiNodeSnapshot  # NOQA
from pfdet.training.extensions import NonFiniteLossError  # NOQA
from pfdet.training.extensions import plot_reports  # NOQA
from pfdet.training.extensions import SnapshotError  # NOQA
from pfdet.training.extensions import StopOnNonFiniteLoss  # NOQA
from pfdet.training.extensions import write_npz_atomic  # NOQA
from pfdet.training.lr_schedule import lr_at  # NOQA
from pfdet.training.lr_schedule import make_lr_schedule  # NOQA
from pfdet.training.lr_schedule import scaled_lr  # NOQA
from pfdet.training.samplers import ClassAwareOrderSampler  # NOQA
from pfdet.training.samplers import RepeatFactorOrderSampler  # NOQA
from pfdet.training.samplers import ShuffleOrderSampler  # NOQA
from pfdet.training.transforms import choose_scale  # NOQA
from pfdet.training.transforms import TrainTransform  # NOQA

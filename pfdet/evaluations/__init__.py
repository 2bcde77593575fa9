from pfdet.evaluations.eval_detection_oid import ap_from_entries  # NOQA
from pfdet.evaluations.eval_detection_oid import calc_detection_oid_entries  # NOQA
from pfdet.evaluations.eval_detection_oid import eval_detection_oid  # NOQA

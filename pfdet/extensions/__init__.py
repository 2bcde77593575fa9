from pfdet.extensions.oid_challenge_evaluator import OIDChallengeEvaluator  # NOQA

"""Expert-model configs and the script that makes their training subsets."""

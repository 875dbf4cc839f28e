"""Quality metrics: scores against ground truth, dataset aggregation and label-free proxies.

Import from the submodules (`shared.metrics.proxy`, `.ground_truth`, `.aggregate`, `.masks`):
this package file stays empty so that a worker, which needs only the proxies, does not pay
for scipy (about 45 MB resident) that the ground-truth scores import.
"""

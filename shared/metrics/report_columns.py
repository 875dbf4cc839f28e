"""The proxy metrics (shared/metrics/proxy.py) a CSV report carries, in its column order:
every field but the box. Kept apart from proxy.py, which needs numpy and OpenCV, because the
API's batch report and the `cutout batch` report both import it.
"""

PROXY_COLUMNS = (
    "foreground_fraction",
    "mean_confidence",
    "uncertain_fraction",
    "boundary_sharpness",
    "components",
    "touches_border",
    "needs_review",
    "review_reasons",
)

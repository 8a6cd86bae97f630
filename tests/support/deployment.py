"""What docker-compose.yml and deploy/k8s must both honour, taken from the code and the measurements."""

from __future__ import annotations

from shared.settings import Settings
from shared.stage import STOP_GRACE_S

# Retiring the consumer and closing connections, after the stage's two waits.
CLOSING_S = 10.0
# Peak resident memory (VmHWM) of each stage on a 20.9 MB report, the largest WENMING_MAX_FILE_BYTES
# admits (benchmarks/bench_large_document.py --megabytes 20.9, README "Performance"); and of
# `wenming migrate`, which loads the regions.
PEAK_MIB = {"ingest": 161, "normalize": 334, "extract": 625, "store": 685, "migrate": 184}
# A limit leaves this much room over the peak: documents differ, and so do libraries' versions.
HEADROOM = 1.3


def stop_bound_s() -> float:
    """Longest a consuming stage takes to stop on its own: entries taken back, the batch in hand, closing."""
    from shared.streaming.publishing import build_broker

    graceful_s = build_broker(Settings(redis_url="redis://127.0.0.1:1/0")).config.graceful_timeout
    assert graceful_s
    return STOP_GRACE_S + graceful_s + CLOSING_S

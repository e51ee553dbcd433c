"""The call limits Alibaba Cloud publishes, per account: what permctl keeps by default and what
its emulator enforces when asked to. Only CloudSSO publishes any; Service Mesh, RAM and the
resource directory do not, so permctl finds theirs from throttling answers."""

from __future__ import annotations

CLOUDSSO_DEFAULT_QPS = 100.0  # most operations
CLOUDSSO_LOW_QPS = 20.0
CLOUDSSO_LOW_QPS_ACTIONS = frozenset(
    {
        "CreateAccessAssignment",
        "DeleteAccessAssignment",
        "GetTask",
        "GetTaskStatus",
        "ProvisionAccessConfiguration",
        "DeprovisionAccessConfiguration",
        "ListAccessConfigurationProvisionings",
    }
)


def published_qps(product: str, action: str) -> float | None:
    """The published calls/s per account of one action; None where none is published."""
    if product != "cloudsso":
        return None
    return CLOUDSSO_LOW_QPS if action in CLOUDSSO_LOW_QPS_ACTIONS else CLOUDSSO_DEFAULT_QPS


# The most calls in flight per API product unless --concurrency says otherwise. Here, with no
# SDK import, so that the command line can show it without loading the SDKs.
DEFAULT_CEILING = 32

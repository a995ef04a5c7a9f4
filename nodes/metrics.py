"""Node metrics, in multiprocess mode: each pool child writes, the main process serves."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ATTEMPTS = Counter(
    "browsing_node_attempts_total",
    "Attempts handled, by outcome: won, lost, failed, cancelled, or dropped before running.",
    ["outcome"],
)
ATTEMPT_DURATION = Histogram(
    "browsing_node_attempt_duration_seconds",
    "Time a node spent on an attempt it ran, from claim to report.",
    ["outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600, 10800),
)
STEPS = Counter("browsing_node_agent_steps_total", "Agent steps executed.")
BROWSER_LAUNCHES = Counter("browsing_node_browser_launches_total", "Chromium launches.")
BROWSER_CRASHES = Counter(
    "browsing_node_browser_crashes_total", "Browsers found disconnected and relaunched."
)
OPEN_CONTEXTS = Gauge(
    "browsing_node_open_contexts",
    "Browser contexts open now (one per running attempt, plus the warm one).",
    multiprocess_mode="livesum",
)
SCREENSHOTS = Counter("browsing_node_screenshots_uploaded_total", "Screenshots uploaded to S3.")
SCREENSHOT_BYTES = Counter(
    "browsing_node_screenshot_bytes_total", "Bytes of screenshots uploaded to S3."
)
ARTIFACTS = Counter(
    "browsing_node_artifacts_uploaded_total",
    "Artifacts besides screenshots uploaded to S3, by kind: file (a download) or trace.",
    ["kind"],
)
ARTIFACT_BYTES = Counter(
    "browsing_node_artifact_bytes_total", "Bytes of those artifacts, by kind.", ["kind"]
)
DOWNLOADS_STOPPED = Counter(
    "browsing_node_downloads_stopped_total",
    "Downloads stopped or dropped (past BROWSING_MAX_DOWNLOAD_BYTES, failed, over the count).",
)
S3_UPLOAD = Histogram(
    "browsing_node_s3_upload_duration_seconds",
    "Time to upload one screenshot.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EGRESS_REFUSED = Counter(
    "browsing_egress_refused_total",
    "Connections the egress policy refused, by reason: scheme, loopback, private, "
    "link_local, shared, unspecified, multicast, broadcast, or denied (BROWSING_EGRESS_DENY).",
    ["reason"],
)
LLM_CALLS = Counter(
    "browsing_node_llm_calls_total",
    "Calls to the language model that it answered, by model and template.",
    ["model", "template"],
)
LLM_TOKENS = Counter(
    "browsing_node_llm_tokens_total",
    "Tokens the language model reported, by model, template and kind (prompt, completion).",
    ["model", "template", "kind"],
)

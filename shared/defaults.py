"""Every default of the service in one place, each with its unit in its name.

Each can be overridden by an environment variable: the upper-cased name with the
``BROWSING_`` prefix (``sync_timeout_s`` -> ``BROWSING_SYNC_TIMEOUT_S``), read once by
``shared.config.load_settings``. An empty value for a number means its default.
README's configuration table lists every one (tests/unit/test_config.py checks it).
"""

from __future__ import annotations

redis_url = "redis://127.0.0.1:6379/0"
# Redis Sentinel (docs/redis-ha.md): comma-separated host:port of the sentinels. When set,
# every Redis client (task store and Celery broker) asks them for the current master of
# redis_sentinel_master, and redis_url gives only the master's password and database.
redis_sentinels = ""
redis_sentinel_master = "mymaster"
# The sentinels' own password (their requirepass); empty: they ask for none.
redis_sentinel_password = ""
# Connections one process may open to Redis; a burst beyond it waits for a free one.
redis_max_connections = 500
# Empty: the service uses AWS S3's own endpoint (and the usual AWS credential chain).
s3_endpoint_url = ""
s3_bucket = "browsing-screenshots"
s3_region = "us-east-1"
# Empty: boto3's usual credential chain (environment, profile, instance role).
s3_access_key_id = ""
s3_secret_access_key = ""
s3_prefix = "screenshots/"
# Every S3 call is bounded: a store that hangs instead of refusing costs at most about
# s3_max_attempts * (s3_connect_timeout_s + s3_read_timeout_s), then a clear error.
s3_connect_timeout_s = 3.0
s3_read_timeout_s = 10.0
s3_max_attempts = 2
# /readyz's own budget for its Redis and S3 checks: one try of this long each.
readiness_timeout_s = 2.0
screenshot_retention_days = 5
# A file a page downloads is stopped and dropped past this many bytes (the task keeps
# its result and says so in the payload's files_error); 0 turns downloads off.
max_download_bytes = 50 * 1024 * 1024
# The scheduler deletes screenshots older than the retention this often, for S3-compatible
# stores that ignore lifecycle rules; 0 turns the sweep off.
retention_sweep_interval_s = 3600.0

# `browsing up`'s private Redis keeps its append-only file under this directory; empty:
# $XDG_DATA_HOME/browsing-service (~/.local/share/browsing-service); "none": nothing kept.
data_dir = ""

# The gateway (gunicorn) listens on bind:port; containers set bind to 0.0.0.0.
bind = "127.0.0.1"
port = 8080
# gunicorn worker processes of the gateway, and the requests each holds at once (gevent).
gateway_workers = 2
gateway_connections = 4000
# Log lines: "json" (one object per line) or "text" (plain lines).
log_format = "json"
api_keys = ""  # "alice:KEY1,bob:KEY2"
admin_users = ""  # "ops,alice": users whose static keys (api_keys) may use /api/v1/admin
# Browser apps on these origins may call the API ("https://app.example.com,..." or "*").
cors_origins = ""

# Per-user limits (README, "Fair share and limits"); 0 means no limit. Each can be set
# per user: BROWSING_USER_LIMITS, or `browsing keys create USER --max-active N ...`.
# Tasks a user may have assigned to or running on nodes at once: a submit while the user
# has this many gets 429, and the scheduler never binds more of the user's tasks.
user_max_active = 0
# Tasks a user may have waiting for a node; a submit past it gets 429.
user_max_queued = 10_000
# Submits per second (a token bucket), and how many may come at once (0: one second's worth).
user_rate = 0.0
user_burst = 0
# Per-user weights and limits: "alice:weight=3,max_active=20;bob:rate=5". Users not
# named get weight 1 and the limits above.
user_limits = ""
# A node's Celery queue holds at most its free slots plus this many tasks (late binding:
# the rest wait in the scheduler's queues). 0: a task is bound when a slot frees, while
# the node's process prepares its next browser context, so no time is lost on a node
# near its Redis; 1 hides the binding round trip for nodes far from it, at the cost of
# a task waiting behind another on a node that may be slow.
node_prefetch = 0

sync_timeout_s = 600.0
max_request_bytes = 256 * 1024
# The largest file POST /uploads takes (bytes); a bigger one gets 413 and is not stored.
max_upload_bytes = 25 * 1024 * 1024

task_timeout_default_ms = 300_000  # 5 minutes
task_timeout_max_ms = 3 * 60 * 60 * 1000
# Terminal task records are kept this long, then Redis expires them.
task_record_ttl_s = 7 * 24 * 3600
# The reaper fails a task this long after its deadline if no node finished it.
reaper_grace_s = 15.0
maintenance_interval_s = 1.0
# An attempt recorded this long ago whose message a killed scheduler never sent is sent
# by the maintenance loop.
stale_queued_after_s = 30.0

fanout_max = 10
node_heartbeat_interval_s = 2.0
# A node that has not sent a heartbeat for this long is dead.
node_dead_after_s = 10.0
# How many times an attempt lost with its node is sent to another node.
redispatch_retries = 1
session_affinity_ttl_s = 30 * 60
# Browser state per session_key (README, "Sessions that remember"): the AES-256 key that
# seals it in the bucket, 32 bytes as 64 hex digits or base64; empty: nothing is kept.
state_key = ""
# A session's saved state is loaded for this long after the task that saved it, then
# forgotten (and deleted by the retention sweep).
session_state_ttl_s = 7 * 24 * 3600
# Where the sealed state objects go in the bucket.
session_state_prefix = "browser-state/"

action_timeout_ms = 15_000
# Node worker processes are replaced after this many tasks, which bounds Chromium's memory.
node_max_tasks_per_child = 200
# How long a new worker process may take to start its Chromium before Celery kills it.
# Celery's own 4 s is too short on a busy host: the replacement is killed too, its
# browser left behind, and every later replacement starts under even more load.
node_child_start_timeout_s = 120.0
chromium_path = ""
node_uid = ""
node_country = ""
# Upstream proxy for the node's browser: http://user:pass@host:port or socks5://host:port.
node_proxy = ""
# Chromium's proxy bypass list; "<-loopback>" also sends 127.0.0.1 through the proxy.
node_proxy_bypass = ""
# The egress policy of every node's browser (see shared/egress.py): "enforce" sends every
# connection through the node's filtering proxy; "off" lets Chromium connect anywhere the
# node can reach, and is only for networks that enforce the same rules themselves.
egress_policy = "enforce"
# Comma-separated CIDRs, host names (*.example.com for subdomains) and host:port pairs
# allowed despite the default deny list (loopback, private, link-local, ...). Setting it
# replaces this default; a host:port entry allows that one port.
egress_allow = ""
# Extra CIDRs and host names to refuse; they win over egress_allow.
egress_deny = ""
# Address the scheduler's and nodes' /metrics servers listen on; deployments where
# Prometheus scrapes from another host set 0.0.0.0 explicitly.
metrics_bind = "127.0.0.1"
# Port of the /metrics endpoint of a scheduler or node process; 0 turns it off (the
# gateway serves /metrics on its own port).
metrics_port = 0

# The LLM planner (README, "The offline agent"): a template's own llm.* settings win over
# these. An OpenAI-compatible API root, e.g. http://localhost:11434/v1; empty: no model.
llm_base_url = ""
llm_model = ""
llm_api_key = ""
# Sampling; None (empty): the model server's default.
llm_temperature: float | None = None
llm_top_p: float | None = None
llm_max_tokens = 1024
# Each request's timeout, cut to the task's deadline.
llm_timeout_s = 60.0
# Replies that cannot be used, each retried with the error, before the planner gives up.
llm_max_retries = 3
# "auto": tool calls, with a JSON fallback when the server rejects tools; or only one.
llm_tool_mode = "auto"

# Webhooks (README, "Webhooks"): the scheduler POSTs a task's final status to the
# request's webhook URL. Each try is bounded by webhook_timeout_s; a failed try is
# retried after webhook_retry_base_s, doubling each time up to webhook_retry_max_s, with
# jitter, until webhook_retry_for_s after the task finished.
webhook_timeout_s = 10.0
webhook_retry_base_s = 1.0
webhook_retry_max_s = 3600.0
webhook_retry_for_s = 86_400.0
# Tries one scheduler process makes at once.
webhook_concurrency = 16
# The deliverer wakes at once when a task with a webhook finishes; it also looks at its
# outbox this often, for retries and for what another scheduler left.
webhook_poll_interval_s = 1.0
# An event stream (GET /events) with nothing to say sends a comment line this often, so
# that proxies and clients do not close it as idle.
events_keepalive_s = 15.0
# Idempotent submits (README, "Idempotent submits"): an Idempotency-Key answers with its
# first task for this long after that task's creation.
idempotency_ttl_s = 24 * 3600
# GET /tasks lists at most a user's newest this many tasks (the per-user index is trimmed
# to it on each submit).
task_list_max = 10_000

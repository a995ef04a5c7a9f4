"""A node's way out to the web.

``proxy``: the filtering forward proxy every node's Chromium connects through, which
enforces the egress policy (``shared.egress``) on every connection. ``upstream``: the
operator's own proxy (``BROWSING_NODE_PROXY``) that the filter may forward to.
"""

from __future__ import annotations

from nodes.egress.upstream import Upstream, describe_egress, proxy_settings

__all__ = ["Upstream", "describe_egress", "proxy_settings"]

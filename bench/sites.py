"""``BROWSING_EGRESS_ALLOW`` for a bench's own local sites.

Every node's browser goes through the egress filter, which refuses loopback addresses
unless allowed. A bench that sends tasks to pages it serves on 127.0.0.1 allows exactly
those ports, one ``host:port`` entry per site, as the test suite does; it never turns the
policy off (only bench/egress.py's baseline side does, by definition).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from shared.egress import allow_entries


def egress_allow(*base_urls: str) -> dict[str, str]:
    """Cluster env overrides allowing each of ``base_urls``' ``host:port`` (added to any
    ``BROWSING_EGRESS_ALLOW`` already in the environment)."""
    entries = [urlsplit(url).netloc for url in base_urls]
    existing = os.environ.get("BROWSING_EGRESS_ALLOW", "")
    return {"BROWSING_EGRESS_ALLOW": allow_entries(entries, existing)}

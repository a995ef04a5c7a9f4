"""Code shared by the gateway, the scheduler and the nodes."""

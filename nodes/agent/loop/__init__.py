"""The agent loop: the run's session of tabs, its time budget, its guards and secrets."""

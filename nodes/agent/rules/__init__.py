"""The offline rules planner: its grammar, clause by clause, and the replay it writes back."""

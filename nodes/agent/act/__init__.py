"""Carrying out actions in the browser: the executor, finding elements, checking effects."""

"""Answering questions from pages, extractively and without a model."""

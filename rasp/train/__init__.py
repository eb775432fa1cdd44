"""Learned versus compiled: train transformers of the compiled shape (see `rasp train`)."""

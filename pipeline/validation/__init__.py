"""Validation layer: typing and normalisation of the staged raw text (crf.md §3-§6)."""

"""Reproduction packages, one per report."""

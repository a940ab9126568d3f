"""Writes to the catalogue, supplies, supply schedules and retention, one module each."""

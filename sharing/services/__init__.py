"""Writes in the sharing app, one module per subdomain: isp, profiles, extracts (and
extract_build, the worker's side), requests, governance, library, foi."""

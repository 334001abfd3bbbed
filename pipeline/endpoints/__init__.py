"""Endpoint statistics (endpoints.md): pure functions from ADaM polars frames to the
``endpoints.ep_*`` tables. :func:`pipeline.endpoints.build.derive_endpoints` is the one entry
point used by both the Dagster asset and ``trialwh adam``."""

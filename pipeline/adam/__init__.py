"""ADaM analysis-dataset derivations (admiral-style, over polars)."""

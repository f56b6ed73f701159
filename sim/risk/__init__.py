"""Risk models of the platform: the PD scorecard (mechanism M11)."""

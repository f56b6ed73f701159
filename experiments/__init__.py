"""Experiment entry points: Hydra runs, sweeps, comparison, validation, benchmarks."""

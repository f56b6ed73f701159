"""lending."""

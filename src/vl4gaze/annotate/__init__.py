"""annotate stage (see DESIGN.md)."""

"""review stage (see DESIGN.md)."""

"""tasks stage (see DESIGN.md)."""

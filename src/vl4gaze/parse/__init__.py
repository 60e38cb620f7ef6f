"""parse stage (see DESIGN.md)."""

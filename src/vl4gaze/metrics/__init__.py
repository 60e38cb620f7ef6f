"""metrics stage (see DESIGN.md)."""

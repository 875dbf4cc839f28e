"""Model specs and the inference engine behind one small interface."""

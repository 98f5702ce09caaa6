"""transferkit evaluators: downstream heads that work on arrays, never on encoders."""

"""Text utilities shared by the corpus, span extraction, retrieval and rewards."""

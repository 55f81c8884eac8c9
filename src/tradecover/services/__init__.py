"""Use cases: one verb each, over ports the persistence layer implements."""

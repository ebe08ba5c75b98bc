"""Communication records, tasks and notes: the work done with and for customers."""

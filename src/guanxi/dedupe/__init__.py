"""Finding and merging duplicates (查重与合并): duplicate groups of customers and contacts, merge and undo."""

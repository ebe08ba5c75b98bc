"""Importing customers, contacts, interactions and tasks from CSV, Excel and vCard files (数据迁移)."""

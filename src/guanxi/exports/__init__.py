"""Exports of every list (customers, contacts, interactions, tasks, audit log): streamed, or as a background job."""

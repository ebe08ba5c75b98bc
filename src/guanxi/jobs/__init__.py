"""The background job queue as an admin sees it: queue state, periodic runs, the workspace's outbox."""

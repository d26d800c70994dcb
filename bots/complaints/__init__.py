"""check_pending_tx's parts: the complaint ladder (pure), its store, the executor, the report."""

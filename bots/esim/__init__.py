"""esim_activation_queue's parts: the rules (pure), the store, the batch workbook, the report."""

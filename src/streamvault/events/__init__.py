"""Events and their history (SPEC §12): model, database, ``/api/events``, CSV import/export."""

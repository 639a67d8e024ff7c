"""One pattern for every record with states of its own (see ``machine``)."""

"""Pure rules of the programme: no I/O, no web, no database."""

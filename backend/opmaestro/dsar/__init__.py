"""Data subject requests: access, export, correction and erasure, with their deadlines."""

"""The accounts API, one router module per concern."""

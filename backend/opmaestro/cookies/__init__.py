"""Cookies: the cookie inventory, the banner configuration, device consent and Global Privacy Control."""

"""Tests of the gradient-free core (a package, so its conftest is imported once, under one name)."""

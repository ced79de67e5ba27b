"""Ingestion: source files to structured policy documents."""

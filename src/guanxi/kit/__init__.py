"""Shared building blocks: models, errors, i18n, pagination, search, normalisation."""

"""The HTTP client: requests, answers, retries and limits. Imports no Jupyter package.

Public names are re-exported from :mod:`comet_widgets`; the modules here are private.
"""

"""Batches: ``generate_many``, its run, results, manifest, prompt files and progress.

Public names are re-exported from :mod:`comet_widgets`; the modules here are private.
"""

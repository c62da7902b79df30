"""Renderers: they read a finished :class:`zdverify.model.verdict.Report` and derive nothing."""

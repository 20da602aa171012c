"""The benchmark suite: `run` drives the servers and the load, `paths` picks what is read,
`report` summarizes against the targets, `charts` and `output` write the results.

Imports point one way: run → output → charts → report.
"""

"""`zooprep report`: the numbers `clean` and `shard` recorded while they ran, drawn as one self-contained
HTML page (inline SVG, no script, no network), or as Markdown / JSON. Nothing here recomputes a statistic:
``collect`` reads report.json / zooprep.json / cards, ``render`` lays them out, ``svg`` draws histograms.
"""

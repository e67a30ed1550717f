"""Parses Prometheus text (stdin) with the reference client library's parser and prints its
samples as JSON: [{"name", "labels", "value"}]. A text the parser refuses fails loudly."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        samples.append({"name": s.name, "type": family.type, "labels": s.labels, "value": s.value})
json.dump(samples, sys.stdout)
